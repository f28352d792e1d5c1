"""Word lists for the name detector: first names, names that are also Dutch words, and capitalised words that
are never a person here (brands, products, places, sentence words). Case-sensitive: entries are as written in a post."""

from __future__ import annotations

# Common first names in the Netherlands (Dutch, Frisian, Turkish, Moroccan, Surinamese, other).
FIRST_NAMES: frozenset[str] = frozenset({
    "Aaron", "Abdel", "Abdelkader", "Abdul", "Adam", "Adriaan", "Adrie", "Ahmed", "Aisha", "Ali", "Alice", "Alex",
    "Alexander", "Amber", "Amina", "Amir", "Amy", "Anna", "Anne", "Annemarie", "Anneke", "Annelies", "Anouk",
    "Anton", "Arie", "Arjen", "Arjan", "Arno", "Astrid", "Aya", "Ayoub", "Ayse", "Ayşe", "Bart", "Bastiaan",
    "Beatrix", "Bert", "Berend", "Bernard", "Bilal", "Bianca", "Bob", "Boris", "Bram", "Brenda", "Britt", "Bryan",
    "Carla", "Carlijn", "Carolien", "Caroline", "Cas", "Casper", "Cees", "Charlotte", "Chantal", "Chris",
    "Christiaan", "Christine", "Claudia", "Coen", "Cor", "Corné", "Corrie", "Daan", "Daniel", "Daniël", "Danny",
    "David", "Debora", "Demi", "Dennis", "Dick", "Diederik", "Dina", "Dirk", "Dominique", "Dylan", "Edwin", "Eline",
    "Elif", "Elisabeth", "Ellen", "Els", "Emma", "Emine", "Emre", "Erik", "Eric", "Esmee", "Esther", "Eva",
    "Evelien", "Evi", "Fatima", "Fatma", "Femke", "Finn", "Floor", "Floris", "Frank", "Frans", "Freek", "Frits",
    "Gerard", "Gerrit", "Gert", "Gijs", "Guus", "Hamza", "Hanna", "Hannah", "Hans", "Harm", "Harry", "Hasan",
    "Hassan", "Hatice", "Hein", "Hendrik", "Henk", "Henri", "Herman", "Hilde", "Hugo", "Ibrahim", "Ilse", "Imane",
    "Ineke", "Inge", "Ingrid", "Iris", "Isa", "Isabel", "Ivo", "Jaap", "Jacob", "Jacqueline", "Jan", "Janneke",
    "Jannes", "Jasper", "Jeroen", "Jesse", "Jessica", "Joep", "Johan", "Johanna", "Johannes", "Jolanda", "Joost",
    "Joris", "Jos", "Josje", "Joyce", "Julia", "Julian", "Juliette", "Justin", "Kai", "Karel", "Karin", "Kees",
    "Kevin", "Khadija", "Kim", "Klaas", "Koen", "Laura", "Lars", "Lieke", "Lisa", "Lisanne", "Liam", "Linda",
    "Lotte", "Lucas", "Luuk", "Maarten", "Malika", "Manon", "Marco", "Marcel", "Margriet", "Maria", "Marieke",
    "Marijke", "Marije", "Marloes", "Martijn", "Martin", "Mathijs", "Max", "Maxime", "Mehmet", "Meryem", "Mila",
    "Milan", "Mirjam", "Mohamed", "Mohammed", "Monique", "Mustafa", "Naima", "Nadia", "Nick", "Niels", "Nienke",
    "Nina", "Noah", "Noor", "Nora", "Olivier", "Oscar", "Patrick", "Paul", "Peter", "Petra", "Piet", "Pieter", "Pim",
    "Priya", "Quinten", "Rachid", "Ramon", "Rik", "Rick", "Rob", "Robert", "Robin", "Roel", "Romy", "Ron", "Ronald",
    "Rosa", "Ruben", "Rutger", "Ruud", "Saskia", "Sander", "Sandra", "Sanne", "Sara", "Sarah", "Sem", "Sjaak",
    "Sjoerd", "Sofie", "Sophie", "Stefan", "Stijn", "Suzanne", "Sven", "Tamara", "Teun", "Thijs", "Thomas", "Tim",
    "Tom", "Tijn", "Tineke", "Tobias", "Twan", "Vera", "Victor", "Vincent", "Wendy", "Wessel", "Willem", "Wim",
    "Wouter", "Yasmina", "Yara", "Yusuf", "Youssef", "Zeynep", "Zoë",
})

# First names that are also common Dutch words ("Wil je ...", "Toon eens ..."): a name only next to a surname or
# after a cue (mevrouw, collega, "ik heet", a greeting or sign-off).
AMBIGUOUS_NAMES: frozenset[str] = frozenset({
    "Ben", "Bo", "Dean", "Fleur", "Hoop", "Jet", "Mark", "Merel", "Roos", "Sterre", "Storm", "Toon", "Wil", "Will",
    "Zomer",
})

# Capitalised words that a cue ("ik ben", "hoi", "met ... gesproken") may precede but that are no person:
# pronouns and sentence words, greetings, days and months, brands, products, services and common places.
NOT_NAMES: frozenset[str] = frozenset({
    # sentence words
    "Ik", "Je", "Jij", "Jullie", "U", "Hij", "Zij", "Ze", "Wij", "We", "Het", "De", "Een", "Dit", "Dat", "Die", "Deze",
    "Mijn", "Ons", "Onze", "Ja", "Nee", "Alle", "Allemaal", "Iedereen", "Niemand", "Iemand", "Er", "Daar", "Hier",
    "Wat", "Wie", "Waarom", "Hoe", "Wanneer", "Waar", "En", "Of", "Maar", "Want", "Dus", "Ook", "Nog", "Al", "Als",
    "Sinds", "Na", "Voor", "Bij", "Met", "Op", "In", "Aan", "Van", "Naar", "Om", "Tot", "Over", "Toch", "Helaas",
    "Gisteren", "Vandaag", "Morgen", "Vanochtend", "Vanavond", "Vanmorgen", "Inmiddels", "Nu", "Sorry", "Excuus",
    "Dank", "Bedankt", "Groet", "Groeten", "Hoi", "Hallo", "Hey", "Hee", "Beste", "Dag", "Goedemorgen",
    "Goedemiddag", "Goedenavond", "Allen", "Klant", "Klanten", "Webcare", "Community", "Forum", "Team",
    "Moderator", "Klantenservice", "Helpdesk", "Storing", "Update", "Tip", "Vraag", "Probleem", "Oplossing",
    # days, months, holidays
    "Maandag", "Dinsdag", "Woensdag", "Donderdag", "Vrijdag", "Zaterdag", "Zondag", "Januari", "Februari",
    "Maart", "April", "Mei", "Juni", "Juli", "Augustus", "September", "Oktober", "November", "December",
    "Kerst", "Kerstmis", "Pasen", "Pinksteren", "Koningsdag", "Oudjaar", "Nieuwjaar",
    # operators, brands, shops, products, services
    "Ziggo", "Odido", "Vodafone", "Tele2", "Youfone", "Simyo", "Lebara", "Lycamobile", "Ben", "Hollandsnieuwe",
    "Budget", "Delta", "Caiway", "Telfort", "Samsung", "Apple", "Google", "Huawei", "Xiaomi", "Oppo", "Motorola",
    "Nokia", "Fairphone", "Doro", "Sony", "Galaxy", "Pixel", "Netflix", "Disney", "Videoland", "Spotify", "Android",
    "Windows", "Coolblue", "Bol", "Mediamarkt", "MediaMarkt", "Belsimpel", "Rabobank", "Bunq", "Knab", "Triodos",
    "Experia", "Fritz", "Deco", "Eero", "Sonos", "Unlimited", "Entertainment", "Prepaid", "Glasvezel", "Wifi",
    "PostNL", "Thuisbezorgd", "WhatsApp", "Whatsapp", "Facebook", "Instagram", "Outlook", "Gmail", "Hotmail",
    # places
    "Nederland", "Amsterdam", "Rotterdam", "Utrecht", "Den", "Haag", "Eindhoven", "Groningen", "Zwolle", "Leiden",
    "Hoogvliet", "Spijkenisse", "Almere", "Arnhem", "Nijmegen", "Breda", "Tilburg", "Maastricht", "Limburg",
    "Brabant", "Friesland", "Zeeland", "Belgi\u00eb", "Duitsland", "Spanje", "Frankrijk", "Turkije", "Marokko",
    "Suriname",
})
