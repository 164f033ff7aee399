"""The cities and districts the shipped sources cover, with the spellings each site uses."""

from django.db import migrations

CITIES = {
    ("Dubai", "AE", "AED"): {
        "Downtown Dubai": ["Downtown"],
        "Dubai Marina": ["Marina"],
        "Jumeirah Village Circle (JVC)": ["JVC", "Jumeirah Village Circle"],
        "Jumeirah Beach Residence (JBR)": ["JBR", "Jumeirah Beach Residence"],
        "Jumeirah Lake Towers (JLT)": ["JLT", "Jumeirah Lake Towers"],
        "Business Bay": [],
        "Palm Jumeirah": ["The Palm"],
        "Dubai Hills Estate": ["Dubai Hills"],
        "Mohammed Bin Rashid City": ["MBR City", "MBRC"],
        "Arabian Ranches": ["Arabian Ranches 2", "Arabian Ranches 3"],
        "The Oasis by Emaar": ["The Oasis"],
        "The Valley by Emaar": ["The Valley"],
        "DAMAC Islands": [],
        "DAMAC Hills": ["Akoya"],
        "Dubai South": ["Dubai South (Dubai World Central)"],
        "Umm Suqeim": [],
        "Al Barsha": [],
        "Jumeirah": [],
        "Deira": [],
        "Bur Dubai": [],
        "Dubai Creek Harbour": ["Dubai Creek Harbour (The Lagoons)"],
        "Dubai Silicon Oasis": ["DSO"],
        "International City": [],
        "Al Furjan": [],
        "Town Square": [],
        "Dubailand": ["Dubai Land"],
        "The Heights Country Club and Wellness": [],
    },
    ("Berlin", "DE", "EUR"): {
        "Mitte": ["Moabit", "Tiergarten", "Wedding", "Gesundbrunnen", "Hansaviertel"],
        "Friedrichshain-Kreuzberg": ["Friedrichshain", "Kreuzberg"],
        "Pankow": ["Prenzlauer Berg", "Weißensee", "Heinersdorf", "Niederschönhausen",
                   "Französisch Buchholz", "Buch", "Karow", "Blankenburg", "Rosenthal"],
        "Charlottenburg-Wilmersdorf": ["Charlottenburg", "Wilmersdorf", "Westend", "Halensee",
                                       "Grunewald", "Schmargendorf", "Charlottenburg-Nord"],
        "Spandau": ["Staaken", "Siemensstadt", "Haselhorst", "Kladow", "Hakenfelde"],
        "Steglitz-Zehlendorf": ["Steglitz", "Zehlendorf", "Lichterfelde", "Lankwitz", "Dahlem",
                                "Wannsee", "Nikolassee"],
        "Tempelhof-Schöneberg": ["Tempelhof", "Schöneberg", "Mariendorf", "Marienfelde",
                                 "Lichtenrade", "Friedenau"],
        "Neukölln": ["Britz", "Buckow", "Rudow", "Gropiusstadt"],
        "Treptow-Köpenick": ["Treptow", "Alt-Treptow", "Köpenick", "Adlershof", "Johannisthal",
                             "Baumschulenweg", "Niederschöneweide", "Oberschöneweide",
                             "Friedrichshagen", "Altglienicke", "Plänterwald"],
        "Marzahn-Hellersdorf": ["Marzahn", "Hellersdorf", "Biesdorf", "Kaulsdorf", "Mahlsdorf"],
        "Lichtenberg": ["Friedrichsfelde", "Karlshorst", "Rummelsburg", "Fennpfuhl",
                        "Alt-Hohenschönhausen", "Neu-Hohenschönhausen", "Hohenschönhausen"],
        "Reinickendorf": ["Tegel", "Wittenau", "Frohnau", "Hermsdorf", "Waidmannslust",
                          "Märkisches Viertel"],
    },
    ("Almaty", "KZ", "KZT"): {
        "Medeu": ["Медеуский р-н", "Медеуский", "Medeu district"],
        "Almaly": ["Алмалинский р-н", "Алмалинский"],
        "Bostandyk": ["Бостандыкский р-н", "Бостандыкский"],
        "Auezov": ["Ауэзовский р-н", "Ауэзовский"],
        "Alatau": ["Алатауский р-н", "Алатауский"],
        "Zhetysu": ["Жетысуский р-н", "Жетысуский"],
        "Nauryzbay": ["Наурызбайский р-н", "Наурызбайский"],
        "Turksib": ["Турксибский р-н", "Турксибский"],
    },
    ("Delft", "NL", "EUR"): {
        "Binnenstad": ["Centrum", "Delft Centrum"],
        "Hof van Delft": [],
        "Vrijenban": [],
        "Wippolder": [],
        "Voordijkshoorn": [],
        "Tanthof": ["Tanthof-Oost", "Tanthof-West"],
        "Buitenhof": [],
        "Voorhof": [],
        "Delftse Hout": [],
        "Schieweg": [],
    },
    ("Warszawa", "PL", "PLN"): {
        name: [] for name in [
            "Bemowo", "Białołęka", "Bielany", "Mokotów", "Ochota", "Praga-Południe",
            "Praga-Północ", "Rembertów", "Śródmieście", "Targówek", "Ursus", "Ursynów",
            "Wawer", "Wesoła", "Wilanów", "Włochy", "Wola", "Żoliborz",
        ]
    },
    ("Beograd", "RS", "RSD"): {
        "Vračar": ["Opština Vračar"],
        "Stari Grad": ["Opština Stari grad", "Stari grad"],
        "Savski Venac": ["Opština Savski venac", "Savski venac"],
        "Novi Beograd": ["Opština Novi Beograd"],
        "Zvezdara": ["Opština Zvezdara"],
        "Voždovac": ["Opština Voždovac"],
        "Palilula": ["Opština Palilula"],
        "Čukarica": ["Opština Čukarica"],
        "Rakovica": ["Opština Rakovica"],
        "Zemun": ["Opština Zemun"],
        "Surčin": ["Opština Surčin"],
    },
}


def add_cities(apps, schema_editor):
    City = apps.get_model("listings", "City")
    District = apps.get_model("listings", "District")
    for (name, country, currency), districts in CITIES.items():
        city, _ = City.objects.get_or_create(
            name=name, defaults={"country": country, "currency": currency}
        )
        for district_name, aliases in districts.items():
            District.objects.get_or_create(
                city=city, name=district_name, defaults={"aliases": aliases}
            )


class Migration(migrations.Migration):
    dependencies = [("listings", "0001_initial")]

    operations = [migrations.RunPython(add_cities, migrations.RunPython.noop)]
