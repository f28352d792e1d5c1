"""Hand-written evaluation threads for issue 14 (`python -m eval.data.threads_source` writes
eval/data/threads.jsonl, thread-queries.jsonl and thread-queries-tune.jsonl).

Every text below was written by hand for this purpose; the script only adds the export's structure
(ids, authors, timestamps). Five klantexperts with distinct specialities (Apple, Samsung, modems and
TV, roaming, contracts and porting), one member whose answers keep getting accepted (other Android
brands), solutions by webcare and by occasional members, and unsolved threads. Queries are worded
differently from the thread they point at and name the author of its accepted solution; queries
that no thread answers and no klantexpert's speciality covers (shop hours, compliments, account and
billing matters for webcare) have `relevant: []` and `expert: null`. The tuning queries
(thread-queries-tune.jsonl) are the only ones the matching weights were chosen on.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).parent

PEOPLE = {
    "u-101": ("Annemiek", "klantexpert"),   # Apple
    "u-102": ("Joost", "klantexpert"),      # Samsung
    "u-103": ("Fatima", "klantexpert"),     # modems, wifi, TV
    "u-104": ("Ruud", "klantexpert"),       # roaming
    "u-105": ("Ingrid", "klantexpert"),     # contracts, porting
    "u-201": ("Bas_R", "member"),           # Pixel, Xiaomi, OnePlus: a future klantexpert
    "u-202": ("mila88", "member"),
    "u-203": ("Henk_vd_B", "member"),
    "w-1": ("Webcare Lotte", "webcare"),
    "w-2": ("Webcare Sem", "webcare"),
}


def L(topic: str, product: str, sentiment: str, urgency: str, route: str) -> dict[str, str]:  # noqa: N802
    return {"topic": topic, "product": product, "sentiment": sentiment, "urgency": urgency, "route": route}


# (thread number, board, title, question, labels of the question or None, solver or None, solution,
#  hours to the solution, optional member reply before the solution)
THREADS: list[tuple] = [
    # --- Annemiek (u-101): Apple ------------------------------------------------------------------
    (1, "Toestellen", "eSIM werkt niet na overzetten naar iPhone 16",
     "Gisteren mijn eSIM van mijn oude iPhone 12 naar de nieuwe iPhone 16 overgezet via de snelle start. "
     "Nu staat er bij mobiel netwerk 'Geen service' en kan ik niet bellen. Wat doe ik fout?",
     L("sim", "apple", "negative", "high", "klantexpert"), "u-101",
     "Bij het overzetten via Snelle start blijft de eSIM soms hangen op het oude toestel. Ga op de iPhone 16 "
     "naar Instellingen > Mobiel netwerk > eSIM instellen > Overzetten van iPhone in de buurt en houd de oude "
     "iPhone ernaast met Bluetooth aan. Lukt dat niet, vraag dan in de app via Mijn sim een nieuwe eSIM-QR-code "
     "aan en scan die; de oude eSIM wordt dan vanzelf ongeldig.", 3.0, None),
    (2, "Toestellen", "Apple Watch met eigen nummer (eSIM) instellen",
     "Ik heb een Apple Watch Series 9 cellular gekocht. Kan ik die bij jullie met mijn eigen nummer laten "
     "werken zodat ik zonder telefoon kan bellen tijdens het hardlopen?",
     L("device", "apple", "neutral", "normal", "klantexpert"), "u-101",
     "Ja, dat heet bij ons MultiSIM voor de Watch. Open op je iPhone de Watch-app > Mobiel netwerk > Stel mobiel "
     "netwerk in. Je wordt dan naar onze inlogpagina gestuurd, kiest daar de Watch-bundel (€5 per maand) en "
     "binnen een paar minuten deelt de Watch jouw nummer. Je iPhone moet wel iOS 17 of hoger hebben.", 20.0, None),
    (3, "Toestellen", "iPhone blijft hangen op 'SOS' sinds iOS-update",
     "Sinds de update naar iOS 18.1 staat er linksboven alleen nog SOS. Herstarten helpt niet. Iemand een idee?",
     L("device", "apple", "negative", "high", "klantexpert"), "u-101",
     "Dat komt meestal door een verouderde providerinstelling na de update. Ga naar Instellingen > Algemeen > "
     "Info en wacht een halve minuut: verschijnt er een melding 'Update providerinstellingen', installeer die. "
     "Daarna Instellingen > Algemeen > Zet over of stel iPhone opnieuw in > Stel opnieuw in > Stel "
     "netwerkinstellingen opnieuw in. Je wifi-wachtwoorden ben je dan kwijt, je gegevens niet.", 5.0,
     ("u-203", "Zelfde hier, ook met een iPhone 14.")),
    (4, "Toestellen", "Visual voicemail op iPhone werkt niet",
     "Mijn voicemail op de iPhone geeft steeds 'Visual Voicemail is momenteel niet beschikbaar'. Bij mijn vorige "
     "provider werkte het wel. Moet dat ergens aangezet worden?",
     L("device", "apple", "neutral", "normal", "klantexpert"), "u-101",
     "Visual voicemail moet bij ons eenmalig aangezet worden: stuur een sms met VVM AAN naar 1233. Daarna de "
     "Telefoon-app sluiten, vliegtuigmodus even aan en uit, en het tabblad Voicemail vraagt om een nieuw "
     "wachtwoord. Werkt het na een uur nog niet, controleer dan of je voicemail niet doorgeschakeld is naar een "
     "ander nummer (##002# bellen zet alle doorschakelingen terug).", 7.0, None),
    (5, "Toestellen", "iMessage en FaceTime activeren lukt niet met nieuw nummer",
     "Na overstap naar jullie blijft iMessage hangen op 'Wachten op activering'. Al een dag. Sms'jes komen wel "
     "binnen.", L("device", "apple", "negative", "normal", "klantexpert"), "u-101",
     "iMessage activeert met een onzichtbare sms naar Apple in het buitenland. Heb je een blokkade op betaalde "
     "of internationale sms, dan mislukt dat. Zet in de app onder Instellingen > Blokkades 'Sms naar het "
     "buitenland' tijdelijk aan, zet iMessage en FaceTime uit, herstart en zet ze weer aan. Binnen een kwartier "
     "is het geactiveerd; daarna mag de blokkade terug.", 26.0, None),
    (6, "Toestellen", "iPad met sim: data werkt niet",
     "Ik heb een losse datasim in mijn iPad Air gestopt maar krijg geen internet. Sim wordt wel herkend.",
     L("device", "apple", "neutral", "normal", "klantexpert"), "u-101",
     "Bij een iPad moet je de APN soms zelf invullen. Ga naar Instellingen > Mobiele data > Mobiele datanetwerk "
     "en vul bij APN 'internet' in, gebruikersnaam en wachtwoord leeg laten. Controleer ook of 'Mobiele data' "
     "bovenaan aan staat en of de datasim in de app als actief staat.", 9.0, None),
    (7, "Toestellen", "AirDrop en hotspot: iPhone deelt geen internet met laptop",
     "Persoonlijke hotspot op mijn iPhone 15 is grijs, ik kan hem niet aanzetten. Mijn laptop heeft internet "
     "nodig op de trein.", L("device", "apple", "negative", "normal", "klantexpert"), "u-101",
     "Een grijze Persoonlijke hotspot betekent dat de iPhone geen hotspot-APN heeft. Ga naar Instellingen > "
     "Mobiel netwerk > Mobiel datanetwerk en vul onder Persoonlijke hotspot bij APN ook 'internet' in. Na een "
     "herstart staat de schakelaar weer aan. Tethering zit gewoon in je bundel, daar betaal je niets extra voor.",
     4.0, None),
    # --- Joost (u-102): Samsung -------------------------------------------------------------------
    (8, "Toestellen", "Galaxy S24 pakt geen 5G",
     "Ik heb 5G in mijn abonnement en een Galaxy S24, maar ik zie steeds 4G staan, ook in het centrum van "
     "Utrecht waar volgens de kaart 5G is.", L("network", "samsung", "negative", "normal", "klantexpert"),
     "u-102",
     "Op Samsungs moet 5G apart aangezet worden: Instellingen > Verbindingen > Mobiele netwerken > "
     "Netwerkmodus en kies '5G/LTE/3G/2G (automatisch)'. Staat die optie er niet, update dan eerst de software "
     "via Instellingen > Software-update; de 5G-ondersteuning voor ons netwerk kwam met One UI 6.1.", 2.0, None),
    (9, "Toestellen", "Samsung wifi-bellen staat uit en is niet aan te zetten",
     "Bij mij thuis is het bereik slecht. Ik wil wifi-bellen gebruiken op mijn Galaxy A54 maar de knop is "
     "grijs.", L("network", "samsung", "negative", "normal", "klantexpert"), "u-102",
     "Wifi-bellen werkt op de A54 alleen met de firmware voor de Nederlandse markt. Kijk onder Instellingen > "
     "Over telefoon > Software-informatie > Servicerovider-softwareversie: staat daar PHN, dan kan het. Zet "
     "daarna in de Telefoon-app > drie puntjes > Instellingen > Wifi-oproepen aan. Bij een import-toestel "
     "uit bijvoorbeeld Duitsland blijft de knop grijs.", 6.0, None),
    (10, "Toestellen", "Galaxy Watch eigen nummer koppelen",
     "Kan ik mijn Galaxy Watch 6 LTE met hetzelfde nummer als mijn telefoon gebruiken? In de Wearable-app "
     "krijg ik een foutmelding bij 'Mobiel abonnement toevoegen'.",
     L("device", "samsung", "neutral", "normal", "klantexpert"), "u-102",
     "De foutmelding komt meestal doordat de Wearable-app nog de oude versie is. Update eerst Galaxy Wearable en "
     "de Watch-plugin in de Galaxy Store. Daarna Wearable > Horlogeinstellingen > Mobiele netwerken > "
     "Abonnement toevoegen. Je logt in met je account en kiest de MultiSIM-bundel; het horloge krijgt een eSIM "
     "met jouw nummer.", 12.0, None),
    (11, "Toestellen", "Samsung Galaxy valt steeds terug op 3G tijdens bellen",
     "Als ik bel met mijn Galaxy S21 springt het icoontje naar 3G en is het geluid slecht. Na ophangen weer 4G.",
     L("network", "samsung", "negative", "normal", "klantexpert"), "u-102",
     "Dan staat VoLTE (bellen via 4G) uit. Ga naar Instellingen > Verbindingen > Mobiele netwerken en zet "
     "'VoLTE-oproepen' aan. Zie je die optie niet, zet het dan aan in de app: Mijn abonnement > Instellingen > "
     "Bellen via 4G. Daarna het toestel herstarten.", 3.0, None),
    (12, "Toestellen", "Na update Android 14 geen mobiele data op Samsung A34",
     "Sinds de update van gisteren heb ik geen mobiel internet meer op mijn A34. Wifi doet het wel, bellen ook.",
     L("device", "samsung", "negative", "high", "klantexpert"), "u-102",
     "Bij de A34 zet deze update de APN soms terug. Ga naar Instellingen > Verbindingen > Mobiele netwerken > "
     "Toegangspuntnamen, kies drie puntjes > Standaardinstellingen herstellen. Er verschijnt dan weer het juiste "
     "APN 'internet'. Helpt dat niet: Algemeen beheer > Resetten > Mobiele netwerkinstellingen resetten.", 1.5,
     ("u-202", "Heb je al geprobeerd hem uit en aan te zetten?")),
    (13, "Toestellen", "Dual SIM op Galaxy: zakelijk en privé nummer",
     "Ik wil mijn werknummer als eSIM op mijn Galaxy S23 naast mijn privé-sim. Kan ik dan kiezen welk nummer "
     "belt en welk nummer mobiele data gebruikt?", L("sim", "samsung", "neutral", "low", "klantexpert"), "u-102",
     "Ja. Na het toevoegen van de eSIM kies je onder Instellingen > Verbindingen > Simkaartbeheer per taak een "
     "voorkeur: Oproepen (of 'Altijd vragen'), Berichten en Mobiele data. Tip: zet 'Mobiele data wisselen' uit, "
     "anders gaat je privé-sim data gebruiken als het werknummer slecht bereik heeft.", 30.0, None),
    # --- Fatima (u-103): modems, wifi, TV ---------------------------------------------------------
    (14, "Internet & TV", "Modem knippert oranje en geen internet",
     "Sinds vanochtend knippert het lampje van mijn modem oranje en hebben we thuis geen internet. Al twee keer "
     "de stekker eruit gehaald.", L("home_internet", "modem_tv", "negative", "high", "klantexpert"), "u-103",
     "Oranje knipperen betekent dat het modem geen synchronisatie heeft met de wijkcentrale. Controleer eerst of "
     "de kabel van de wandcontactdoos in de grijze DSL-poort zit (niet in een gele LAN-poort). Druk daarna 10 "
     "seconden op de resetknop aan de achterkant en wacht 15 minuten; het modem haalt dan de instellingen "
     "opnieuw op. Blijft het oranje, dan is er een storing op de lijn en moet webcare een monteur inplannen.",
     2.0, None),
    (15, "Internet & TV", "Wifi valt steeds weg boven, mesh-systeem instellen",
     "Op zolder hebben we nauwelijks wifi. Ik heb nu de Wifi Booster van jullie gekregen, maar hoe koppel ik "
     "die goed aan het modem?", L("home_internet", "modem_tv", "neutral", "normal", "klantexpert"), "u-103",
     "Zet de booster eerst naast het modem, druk op de WPS-knop van het modem en binnen twee minuten op die van "
     "de booster. Als het lampje wit brandt, zet je hem halverwege modem en zolder, bijvoorbeeld op de eerste "
     "verdieping op de overloop. Niet op de zolder zelf: dan is het signaal dat hij doorgeeft al te zwak. In de "
     "app zie je onder Wifi > Apparaten of de booster een sterke verbinding heeft.", 10.0, None),
    (16, "Internet & TV", "TV-ontvanger geeft foutcode E-102",
     "Onze tv-box geeft bij het opstarten foutcode E-102 en blijft hangen op het logo. Internet werkt wel.",
     L("home_internet", "modem_tv", "negative", "high", "klantexpert"), "u-103",
     "E-102 betekent dat de ontvanger geen IP-adres krijgt van het modem. Sluit de box met een netwerkkabel aan "
     "op LAN-poort 4 van het modem (dat is de tv-poort), niet via wifi of een switch. Houd daarna de aan-knop "
     "van de box 10 seconden ingedrukt voor een herstart. Het eerste opstarten kan tien minuten duren omdat er "
     "een update binnenkomt.", 3.0, None),
    (17, "Internet & TV", "Eigen router achter het modem (bridge mode)",
     "Ik wil mijn eigen Asus-router gebruiken. Kan het modem van jullie in bridge mode zodat ik geen dubbele NAT "
     "heb?", L("home_internet", "modem_tv", "neutral", "low", "klantexpert"), "u-103",
     "Een echte bridge mode heeft het modem niet, maar je kunt de DMZ gebruiken: log in op 192.168.1.1, ga naar "
     "Geavanceerd > DMZ en vul het IP van je Asus in. Zet daarna op het modem wifi uit. Tv via het modem blijft "
     "dan werken. Gaming en port forwarding regel je vervolgens alleen op de Asus.", 28.0, None),
    (18, "Internet & TV", "Internet traag via wifi, kabel wel snel",
     "Met een kabel haal ik 500 Mbit, via wifi op de bank maar 40. Het modem staat in de meterkast.",
     L("home_internet", "modem_tv", "negative", "normal", "klantexpert"), "u-103",
     "De meterkast is de slechtste plek: metaal en de stroomkast dempen het signaal sterk. Kun je het modem niet "
     "verplaatsen, gebruik dan het 5 GHz-netwerk (naam eindigt op -5G) en zet in het modem onder Wifi > "
     "Geavanceerd de kanaalbreedte op 80 MHz. Een booster in de woonkamer via een netwerkkabel geeft het beste "
     "resultaat.", 5.0, None),
    (19, "Internet & TV", "Modem instellen na verhuizing",
     "We zijn verhuisd en het modem is mee. Lampjes branden rood. Moet ik iets opnieuw installeren?",
     L("home_internet", "modem_tv", "neutral", "normal", "klantexpert"), "u-103",
     "Op het nieuwe adres moet de lijn eerst geactiveerd zijn; dat zie je in de app onder Verhuizen. Is de "
     "activatiedatum geweest, sluit dan het modem aan op de eerste wandcontactdoos (de 'hoofdaansluiting') en doe "
     "een fabrieksreset door 10 seconden de resetknop in te drukken. Het modem meldt zich dan aan op de nieuwe "
     "lijn; dat kan tot een half uur duren.", 8.0, None),
    # --- Ruud (u-104): roaming --------------------------------------------------------------------
    (20, "Buitenland", "Data in Turkije: welke bundel?",
     "In de meivakantie gaan we twee weken naar Turkije. Wat is handig voor internet? Ik wil geen rekening "
     "van honderden euro's.", L("roaming", "sim_only", "neutral", "normal", "klantexpert"), "u-104",
     "Turkije valt in Wereldzone 2, daar geldt je bundel niet. Koop in de app onder Reizen een Reisweek Zone 2 "
     "(€25 voor 3 GB) of voor twee weken de Reismaand Zone 2 (€45 voor 10 GB). Zonder bundel betaal je €6 per "
     "MB. De bundel start als je in Turkije verbinding maakt. Zet je dataroaming pas aan na de landing.", 4.0,
     None),
    (21, "Buitenland", "Op een cruise: kosten bellen op zee",
     "Volgende maand maken we een cruise door de Noorse fjorden. Geldt mijn EU-bundel op het schip?",
     L("roaming", "sim_only", "neutral", "low", "klantexpert"), "u-104",
     "Let op: op zee maakt je telefoon verbinding met het satellietnetwerk van het schip, en dat valt nooit "
     "onder een bundel. Bellen kost daar €5 per minuut en data €10 per MB. Zet je telefoon op vliegtuigmodus "
     "zodra het schip de haven uit is en gebruik de wifi van het schip. In de haven van Noorwegen zelf geldt je "
     "bundel wel gewoon.", 14.0, None),
    (22, "Buitenland", "Amerika: eSIM of reisbundel?",
     "Drie weken naar de VS voor werk. Is een reisbundel van jullie voordeliger dan een lokale eSIM?",
     L("roaming", "sim_only", "neutral", "low", "klantexpert"), "u-104",
     "De VS zijn Wereldzone 2. Onze Reismaand Zone 2 kost €45 voor 10 GB; daarmee houd je wel je eigen nummer "
     "voor bellen en sms-codes van je bank. Een lokale eSIM is per GB goedkoper, maar zonder je eigen nummer. "
     "Veel mensen combineren: onze eSIM voor bellen, een data-eSIM van een lokale aanbieder, en in Instellingen "
     "kies je per taak welke simkaart gebruikt wordt.", 20.0, None),
    (23, "Buitenland", "Geen bereik in Spanje, dataroaming staat aan",
     "Ik ben in Malaga, dataroaming staat aan maar ik heb geen internet. Bellen gaat wel.",
     L("roaming", "sim_only", "negative", "high", "klantexpert"), "u-104",
     "Kies het netwerk handmatig: Instellingen > Mobiel netwerk > Netwerkselectie, zet Automatisch uit en kies "
     "Movistar of Vodafone ES. Soms blijft een toestel hangen op een netwerk waarmee we geen dataroaming hebben. "
     "Controleer ook of de APN 'internet' is. Na het kiezen van een ander netwerk even vliegtuigmodus aan en "
     "uit.", 1.0, None),
    (24, "Buitenland", "Zwitserland en Liechtenstein: EU of niet?",
     "We gaan skiën in Zwitserland en een dagje naar Liechtenstein. Werkt mijn bundel daar?",
     L("roaming", "sim_only", "neutral", "normal", "klantexpert"), "u-104",
     "Liechtenstein valt onder de EU-regeling: daar gebruik je gewoon je bundel. Zwitserland niet: dat is "
     "Wereldzone 1. Koop voor Zwitserland een Reisdag Zone 1 (€4,99 per dag) of een Reisweek Zone 1 (€17,50). "
     "Let op in grensdalen: je telefoon kan een Zwitsers netwerk pakken terwijl je in Oostenrijk bent; kies dan "
     "handmatig een Oostenrijks netwerk.", 6.0, None),
    (25, "Buitenland", "Prepaid in het buitenland gebruiken",
     "Mijn moeder heeft een prepaid kaart. Kan ze daarmee in Frankrijk bellen en WhatsAppen?",
     L("roaming", "prepaid", "neutral", "normal", "klantexpert"), "u-104",
     "Ja, in de EU werkt prepaid zoals thuis: bellen en data gaan van het tegoed of de bundel af tegen dezelfde "
     "prijs als in Nederland. Wel moet roaming bij prepaid eenmalig aangezet worden: sms ROAMING AAN naar 1233. "
     "Zorg dat er genoeg tegoed op staat, want opwaarderen vanuit het buitenland gaat alleen via de app.", 9.0,
     None),
    (26, "Buitenland", "Hoge rekening na vakantie in Marokko",
     "Na onze vakantie in Marokko een rekening van €212 aan data. Ik had toch een limiet?",
     L("roaming", "sim_only", "negative", "high", "webcare"), "w-1",
     "Vervelend dat je zo'n rekening kreeg. Ik heb je account bekeken: de limiet van €50 buiten de EU stond bij "
     "jou uit omdat je die vorig jaar hebt verhoogd. Ik heb als tegemoetkoming €100 gecrediteerd; dat zie je op "
     "je volgende factuur. De limiet staat nu weer op €50. Ik stuur je ook een privébericht met de details.",
     0.7, None),
    # --- Ingrid (u-105): contracts, porting -------------------------------------------------------
    (27, "Abonnementen", "Nummer meenemen van andere provider: hoe lang duurt het?",
     "Ik stap over en wil mijn 06-nummer meenemen. Hoelang zit ik zonder bereik en moet ik zelf opzeggen?",
     L("contract", "sim_only", "neutral", "normal", "klantexpert"), "u-105",
     "Je hoeft niet zelf op te zeggen: bij het porteren zeggen wij je oude abonnement op. Je vult bij de "
     "bestelling je nummer en het klantnummer van je oude provider in. Op de overstapdatum werkt je oude sim tot "
     "ongeveer 10.00 uur en daarna de nieuwe; meestal zit je hooguit een uur zonder bereik. Let op je "
     "opzegtermijn: zit je nog in een contractperiode, dan kan je oude provider kosten rekenen.", 4.0, None),
    (28, "Abonnementen", "Abonnement verlengen: sim only of met toestel?",
     "Mijn contract loopt over twee maanden af. Is het slim om sim only te verlengen of een nieuw toestel te "
     "nemen? Ik heb nu een iPhone 13.", L("contract", "sim_only", "neutral", "low", "klantexpert"), "u-105",
     "Als je toestel nog goed is, is sim only bijna altijd voordeliger. Reken het na: een toestelabonnement "
     "kost je de toestelkosten plus de bundel over 24 maanden. Je kunt vanaf 3 maanden voor het einde in de app "
     "kijken onder Verlengen; als bestaande klant krijg je vaak 20% korting op sim only. Tip: verleng "
     "maandelijks opzegbaar als je twijfelt.", 30.0, None),
    (29, "Abonnementen", "Porteren mislukt: klantnummer oude provider onjuist",
     "Mijn overstap is geannuleerd omdat het klantnummer niet klopte. Ik weet niet waar ik dat vind bij mijn "
     "oude provider.", L("contract", "sim_only", "negative", "high", "klantexpert"), "u-105",
     "Het klantnummer staat bovenaan op je laatste factuur van je oude provider; bij prepaid is het vaak de "
     "ICCID op je simkaarthouder. Vul het in de app onder Overstappen > Gegevens "
     "wijzigen opnieuw in en kies een nieuwe overstapdatum; minimaal twee werkdagen later. Je nieuwe sim kun je "
     "gewoon houden.", 3.0, None),
    (30, "Abonnementen", "Bundel tussentijds verhogen of verlagen",
     "Ik zit steeds boven mijn 5 GB. Kan ik midden in de maand naar 20 GB en later weer terug?",
     L("contract", "sim_only", "neutral", "normal", "klantexpert"), "u-105",
     "Verhogen kan altijd en gaat direct in; je betaalt naar rato voor de rest van de maand. Verlagen kan één "
     "keer per maand en gaat in op de eerste dag van de volgende periode. Dit regel je in de app onder Mijn "
     "abonnement > Bundel wijzigen. Er zijn geen kosten aan verbonden en je contractduur verandert niet.", 5.0,
     None),
    (31, "Abonnementen", "Abonnement op naam van overleden vader overzetten",
     "Mijn vader is overleden. Mijn moeder wil het nummer houden. Hoe zetten we het abonnement op haar naam?",
     L("contract", "none", "negative", "normal", "klantexpert"), "u-105",
     "Gecondoleerd. Een abonnement overzetten heet contractovername. Jouw moeder vult het formulier "
     "Contractovername in (in de app onder Help > Formulieren), met een kopie van de overlijdensakte. Het nummer "
     "blijft hetzelfde en er zijn geen kosten. Wil ze liever opzeggen, dan kan dat ook zonder opzegtermijn met "
     "dezelfde akte.", 18.0, None),
    (32, "Abonnementen", "Tweede sim bij abonnement voor kind (data delen)",
     "Kan ik een extra sim voor mijn dochter van 12 aan mijn abonnement toevoegen en mijn data delen?",
     L("contract", "sim_only", "positive", "low", "klantexpert"), "u-105",
     "Ja, met Data Delen voeg je tot 4 extra sims toe voor €7,50 per maand per sim. Ze delen jouw databundel en "
     "hebben elk onbeperkt bellen. In de app kun je per sim een datalimiet instellen en betaalde diensten "
     "blokkeren, handig voor een kind. Bestellen gaat via Mijn abonnement > Sim toevoegen.", 24.0, None),
    # --- Bas (u-201, member): other Android brands -------------------------------------------------
    (33, "Toestellen", "Pixel 8: eSIM activeren",
     "Ik heb een Google Pixel 8 en wil mijn fysieke sim omzetten naar eSIM. Hoe gaat dat bij jullie?",
     L("sim", "other_device", "neutral", "normal", "peers"), "u-201",
     "Vraag in de app bij Mijn sim > Omzetten naar eSIM een QR-code aan. Op de Pixel: Instellingen > Netwerk en "
     "internet > Simkaarten > + > Simkaart downloaden en scan de code. Binnen een paar minuten werkt de eSIM en is "
     "je oude simkaart uitgeschakeld. Doe het thuis op wifi, je hebt internet nodig tijdens het activeren.", 2.0,
     None),
    (34, "Toestellen", "Xiaomi ontvangt geen sms-codes van de bank",
     "Mijn Xiaomi Redmi Note 13 ontvangt geen sms'jes met codes. Normale sms'jes soms wel.",
     L("device", "other_device", "negative", "high", "peers"), "u-201",
     "Xiaomi filtert sms van onbekende afzenders als spam. Open de Berichten-app > drie puntjes > Instellingen > "
     "Geblokkeerd en kijk of de codes daar staan. Zet 'Spamfilter' uit en geef de app in Beveiliging toestemming. "
     "Check ook of je sms-centrale klopt: +31624000000.", 1.0, None),
    (35, "Toestellen", "OnePlus: wifi-bellen en VoLTE aanzetten",
     "Heb een OnePlus 12 en zie nergens een optie voor bellen via wifi. Wordt dat ondersteund?",
     L("network", "other_device", "neutral", "normal", "peers"), "u-201",
     "Ja, sinds OxygenOS 14 wel. Instellingen > Mobiel netwerk > je simkaart > 'Wifi-bellen' en 'VoLTE' aan. Zie "
     "je het niet, update dan eerst. Na het aanzetten duurt het soms een dag voor het icoontje verschijnt.", 5.0,
     None),
    (36, "Toestellen", "Fairphone 5 geen 4G na simwissel",
     "Nieuwe simkaart in mijn Fairphone 5 maar alleen E of H, geen 4G. Oude sim deed het wel.",
     L("network", "other_device", "negative", "normal", "peers"), "u-201",
     "Bij de Fairphone moet je na een simwissel de netwerkmodus opnieuw kiezen: Instellingen > Netwerk en "
     "internet > Simkaarten > Voorkeursnetwerktype > 5G of LTE. En kijk of de APN op 'internet' staat; de "
     "Fairphone neemt soms de APN van de vorige provider over.", 3.0, None),
    # --- webcare solutions ------------------------------------------------------------------------
    (37, "Rekeningen", "Twee keer afgeschreven deze maand",
     "Ik zie twee keer €32,50 afgeschreven voor november. Dit klopt toch niet? Graag mijn geld terug.",
     L("billing", "sim_only", "negative", "high", "webcare"), "w-2",
     "Je hebt gelijk, er is door een storing bij de incasso bij een deel van de klanten twee keer afgeschreven. "
     "De dubbele afschrijving storten we automatisch binnen vijf werkdagen terug. Je hoeft zelf niets te doen. "
     "Onze excuses!", 0.5, None),
    (38, "Account", "Inloggen in de app lukt niet na nieuwe telefoon",
     "Op mijn nieuwe telefoon krijg ik bij inloggen steeds 'verificatiecode ongeldig'.",
     L("account", "none", "negative", "normal", "webcare"), "w-1",
     "De verificatiecode werkt maar vijf minuten en alleen de laatst verstuurde code is geldig. Ik heb je "
     "tweestapsverificatie gereset; je kunt nu inloggen met je e-mailadres en wachtwoord en daarna een nieuwe "
     "telefoon koppelen.", 1.0, None),
    (39, "Veiligheid", "Sms van 'de bank' met link aangeklikt",
     "Ik heb op een link geklikt in een sms die van mijn bank leek te komen en mijn gegevens ingevuld. Wat nu?",
     L("security", "none", "negative", "critical", "webcare"), "w-2",
     "Bel direct je bank via het nummer op je bankpas om je rekening te laten blokkeren. Wij hebben je nummer "
     "extra beveiligd tegen een simswap: een nieuwe sim kan alleen nog in een winkel met ID. Doe ook aangifte "
     "bij de politie en wijzig je wachtwoorden.", 0.2, None),
    # --- other members ----------------------------------------------------------------------------
    (40, "Toestellen", "Welke telefoon onder de 300 euro?",
     "Zoek een telefoon voor mijn vader, makkelijk in gebruik en onder de 300 euro. Tips?",
     L("device", "none", "neutral", "low", "peers"), "u-202",
     "Mijn vader heeft een Samsung Galaxy A25 met de 'Eenvoudige modus' aan: grote letters en iconen. Kost rond "
     "de €250 en gaat jaren mee met updates. Ook de Motorola G54 is fijn, maar iets minder lang updates.", 6.0,
     None),
    (41, "Internet & TV", "Glasvezel aanleg: graafwerk in de tuin",
     "Binnenkort wordt glasvezel aangelegd. Moeten wij zelf de tuin open laten maken?",
     L("home_internet", "none", "neutral", "low", "peers"), "u-203",
     "Nee, de aannemer graaft zelf een smalle sleuf van de stoep naar je gevel en maakt die daarna dicht. Je "
     "spreekt vooraf de plek af waar de kabel binnenkomt. Tegels worden teruggelegd; planten moet je zelf even "
     "opzij zetten.", 24.0, None),
    (42, "Toestellen", "Batterij iPhone snel leeg na update",
     "Na de laatste update gaat mijn iPhone 13 nog maar een halve dag mee.",
     L("device", "apple", "negative", "normal", "peers"), "u-202",
     "Na een grote update indexeert de iPhone een paar dagen alle foto's en bestanden, dat kost veel batterij. "
     "Geef het drie dagen. Kijk daarna bij Instellingen > Batterij welke app het meeste verbruikt.", 10.0, None),
    # --- unsolved ---------------------------------------------------------------------------------
    (43, "Toestellen", "Huawei P30 zonder Google: werkt jullie app?",
     "Kan ik jullie app gebruiken op een Huawei zonder Google Play?", L("account", "other_device", "neutral",
                                                                        "low", "peers"), None, "", 0, None),
    (44, "Internet & TV", "Storing tv in Groningen?",
     "Is er een tv-storing in Groningen? Al een uur zwart beeld.", L("home_internet", "modem_tv", "negative",
                                                                    "high", "webcare"), None, "", 0, None),
    (45, "Abonnementen", "Studentenkorting nog mogelijk?",
     "Krijg je als student nog korting op sim only?", L("contract", "sim_only", "neutral", "low", "peers"), None,
     "", 0, None),
    (46, "Buitenland", "Roaming in Georgië",
     "Iemand ervaring met bellen in Georgië?", None, None, "", 0, None),
    # --- unlabelled, solved (predicted labels at import) -------------------------------------------
    (47, "Toestellen", "iPhone 15 koppelen aan Apple Watch van partner",
     "Kan de Apple Watch van mijn vrouw ook mijn iPhone gebruiken voor bellen, of moet het horloge gekoppeld "
     "zijn aan haar eigen iPhone?", None, "u-101",
     "Een Apple Watch kan maar aan één iPhone tegelijk gekoppeld zijn. Via Gezinsconfiguratie kan een Watch wel "
     "een eigen nummer hebben zonder eigen iPhone; die stel je in op jouw iPhone in de Watch-app > Alle "
     "horloges > Voeg horloge toe > Configureer voor een gezinslid. Je hebt dan wel een MultiSIM-bundel voor de "
     "Watch nodig.", 16.0, None),
    (48, "Internet & TV", "Modem maakt klikkend geluid en start steeds opnieuw",
     "Ons modem herstart om de paar minuten vanzelf en maakt een klikgeluid. Voeding is al vervangen.", None,
     "u-103",
     "Klikken en herstarten wijst op een defect in het modem zelf. Als de nieuwe voeding niet helpt, vraag dan "
     "een vervangend modem aan in de app onder Storing > Apparaat defect; dat is gratis en wordt binnen twee "
     "werkdagen bezorgd. Stuur het oude modem met het retourlabel terug.", 4.0, None),
    (49, "Buitenland", "Bundel in Engeland na de Brexit",
     "Werkt mijn bundel nog gewoon in Londen of betaal ik extra sinds de Brexit?", None, "u-104",
     "Voor al onze abonnementen is het VK na de Brexit in de EU-zone gebleven: in Engeland, Schotland, Wales en "
     "Noord-Irland gebruik je gewoon je bundel. Jersey, Guernsey en het Isle of Man vallen er niet onder. Voor "
     "prepaid geldt het niet.", 5.0, None),
    (50, "Abonnementen", "Contract opzeggen bij verhuizing naar het buitenland",
     "Ik emigreer naar Canada. Kan ik mijn contract eerder opzeggen?", None, "u-105",
     "Bij emigratie mag je tussentijds opzeggen zonder afkoopsom. Stuur via het contactformulier een bewijs van "
     "uitschrijving uit de gemeente (BRP). Het abonnement stopt dan aan het eind van de lopende maand. Je nummer "
     "kun je laten overzetten naar prepaid als je het wilt houden.", 22.0, None),
    (51, "Toestellen", "Samsung Galaxy Tab sim werkt niet",
     "Sim in mijn Galaxy Tab S9 gestopt, staat 'geen sim'. In mijn telefoon werkt hij wel.", None, "u-102",
     "De Tab S9 heeft een nano-simlade die pas na een herstart de sim leest. Schakel de tablet uit, plaats de "
     "sim met het goudkleurige deel naar beneden en start hem op. Blijft 'geen sim' staan: Instellingen > "
     "Verbindingen > Simkaartbeheer en zet de sim aan; bij tablets staat die soms standaard uit.", 6.0, None),
]

EXTRA_TIMES = {}  # thread number -> hours to the first reply when it differs from the solution


# Evaluation queries: (query id, thread number or None, title, body). Worded differently from the thread.
QUERIES: list[tuple] = [
    ("q-01", 1, "Nieuwe iPhone zegt geen service", "Net overgestapt van een iPhone 11 naar een 16 en de eSIM "
     "meegenomen met de overzetfunctie, maar nu heb ik helemaal geen netwerk. Hoe los ik dit op?"),
    ("q-02", 2, "Bellen met mijn horloge zonder iPhone", "Werkt een cellular Apple Watch met hetzelfde telefoonnummer "
     "als mijn iPhone? Ik wil mijn telefoon thuis laten als ik ga sporten."),
    ("q-03", 3, "Alleen nog noodoproepen na update", "Bovenin mijn scherm staat SOS sinds ik iOS heb bijgewerkt. Geen "
     "bereik meer, wat kan ik doen?"),
    ("q-04", 4, "Voicemail berichten niet zichtbaar in de telefoon-app", "Op mijn iPhone zie ik geen lijst met "
     "ingesproken berichten, er staat dat de dienst niet beschikbaar is."),
    ("q-05", 5, "iMessage wil niet activeren", "Sinds ik bij jullie zit blijft iMessage op activeren staan en "
     "FaceTime ook. Normale sms werkt prima."),
    ("q-06", 6, "Tablet met simkaart heeft geen mobiel internet", "Datasimpje in mijn iPad gedaan, hij ziet de "
     "provider maar internet doet het niet buiten de deur."),
    ("q-07", 7, "Kan geen hotspot maken", "De optie om internet te delen met mijn laptop is uitgegrijsd op mijn "
     "iPhone. Hoe krijg ik die weer aan?"),
    ("q-08", 8, "Alleen 4G op mijn nieuwe Samsung", "Mijn S24 laat nooit 5G zien terwijl mijn abonnement het heeft. "
     "Moet ik iets instellen?"),
    ("q-09", 9, "Bellen via wifi grijs op Galaxy", "Binnen heb ik slecht bereik, maar bij mijn A54 kan ik "
     "wifi-oproepen niet aanzetten. Waarom?"),
    ("q-10", 10, "Smartwatch van Samsung met mijn nummer", "Bij het toevoegen van een mobiel abonnement aan mijn "
     "Galaxy Watch krijg ik een fout. Hoe krijg ik mijn nummer op het horloge?"),
    ("q-11", 11, "Slechte geluidskwaliteit bij bellen, zakt naar 3G", "Tijdens gesprekken op mijn S21 verdwijnt 4G en "
     "klinkt de ander blikkerig."),
    ("q-12", 12, "Mobiel internet weg na software-update", "Galaxy A34 heeft na de update van Android geen 4G-internet "
     "meer, alleen wifi werkt."),
    ("q-13", 13, "Twee nummers op een Samsung", "Hoe stel ik in dat mijn zakelijke eSIM belt en mijn eigen sim de data "
     "doet op mijn S23?"),
    ("q-14", 14, "Oranje lampje modem, internet plat", "Het modem knippert al de hele ochtend oranje en we kunnen niet "
     "online. Opnieuw opstarten helpt niet."),
    ("q-15", 15, "Booster koppelen", "Ik heb een wifi-versterker gekregen om de zolderkamer te bereiken. "
     "Hoe verbind ik die met het modem en waar zet ik hem neer?"),
    ("q-16", 16, "Foutmelding E-102 op de tv-ontvanger",
     "Het tv-kastje start niet verder dan het logo en toont E-102."),
    ("q-17", 17, "Eigen router gebruiken zonder dubbele NAT", "Kan ik jullie modem doorzetten zodat mijn eigen router "
     "het netwerk regelt?"),
    ("q-18", 18, "Wifi veel langzamer dan bekabeld", "Bekabeld haal ik de volle snelheid maar in de woonkamer via wifi "
     "maar een fractie. Modem hangt in de meterkast."),
    ("q-19", 19, "Rode lampjes na verhuizing", "Modem meegenomen naar ons nieuwe huis maar de lampjes blijven rood. "
     "Moet hij opnieuw geïnstalleerd worden?"),
    ("q-20", 20, "Internet in Istanbul", "Wij gaan naar Turkije. Wat kost mobiel internet daar en welke bundel moet ik "
     "nemen?"),
    ("q-21", 21, "Telefoon aan boord van een cruiseschip", "Gaan met de boot langs Noorwegen. Werkt mijn bundel aan "
     "boord of wordt het duur?"),
    ("q-22", 22, "Data in de Verenigde Staten", "Ik ga een maand naar New York. Wat is voordeliger, jullie "
     "reisbundel of een Amerikaanse eSIM?"),
    ("q-23", 23, "Geen mobiel internet in Spanje", "In Spanje aangekomen en bellen gaat, maar internet niet. "
     "Dataroaming staat al aan."),
    ("q-24", 24, "Bundel in de Alpen", "Kan ik mijn bundel gebruiken bij het skiën in Zwitserland?"),
    ("q-25", 25, "Prepaid kaart in Frankrijk", "Mijn oma heeft prepaid, kan zij in Frankrijk gewoon bellen?"),
    ("q-26", 26, "Dure rekening na reis buiten Europa", "Terug uit Marokko en nu een enorme rekening voor internet. "
     "Er zou toch een maximum zijn?"),
    ("q-27", 27, "Overstappen en mijn nummer houden", "Als ik naar jullie overstap, hoe lang ben ik dan onbereikbaar "
     "en moet ik mijn oude abonnement zelf opzeggen?"),
    ("q-28", 28, "Contract loopt af, wat is verstandig?", "Moet ik een nieuw toestel nemen of alleen een sim-only "
     "verlengen nu mijn contract bijna afloopt?"),
    ("q-29", 29, "Nummerbehoud afgewezen", "Mijn nummerbehoud is afgewezen omdat het klantnummer van mijn vorige "
     "provider verkeerd was. Waar vind ik het juiste?"),
    ("q-30", 30, "Meer data halverwege de maand", "Kan ik tijdelijk een grotere databundel nemen en daarna weer "
     "terug naar de kleine?"),
    ("q-31", 31, "Abonnement van overleden ouder", "Hoe kan mijn moeder het abonnement van mijn overleden vader "
     "overnemen en het nummer behouden?"),
    ("q-32", 32, "Extra sim voor mijn kind", "Kan mijn zoon een simkaart krijgen die mijn databundel deelt?"),
    ("q-33", 33, "Fysieke sim naar eSIM op Pixel", "Hoe zet ik mijn gewone simkaart om naar een eSIM op een "
     "Google Pixel?"),
    ("q-34", 34, "Bankcodes per sms komen niet aan", "Op mijn Redmi komen de verificatie-sms'jes van mijn bank niet "
     "binnen."),
    ("q-35", 35, "Wifi-bellen op OnePlus", "Ondersteunen jullie bellen via wifi op een OnePlus? Ik vind de optie "
     "niet."),
    ("q-36", 36, "Fairphone alleen 3G", "Sinds de nieuwe simkaart in mijn Fairphone heb ik geen 4G meer."),
    ("q-37", 37, "Dubbele incasso", "Er is deze maand twee keer geld van mijn rekening gehaald voor mijn "
     "abonnement."),
    ("q-38", 38, "Verificatiecode app werkt niet", "Ik kan niet inloggen in de app op mijn nieuwe telefoon, de code "
     "wordt steeds geweigerd."),
    ("q-39", 39, "Phishing-sms, gegevens ingevuld", "Ik heb mijn bankgegevens ingevuld na een sms met een link. Help!"),
    ("q-40", 40, "Simpele telefoon voor oudere", "Welke goedkope smartphone is makkelijk voor mijn opa?"),
    ("q-41", 41, "Glasvezel in de voortuin", "Wie graaft de sleuf voor de glasvezel in mijn tuin?"),
    ("q-42", 42, "Accu iPhone loopt hard leeg", "Sinds de update is mijn iPhone-batterij binnen een paar uur leeg."),
    ("q-43", 47, "Horloge van mijn partner aan mijn telefoon", "Kan een Apple Watch die bij mijn vrouw hoort via mijn "
     "iPhone bellen?"),
    ("q-44", 48, "Modem reboot telkens", "Mijn modem tikt en start steeds opnieuw op, ook met een andere adapter."),
    ("q-45", 49, "Londen en roaming", "Kost bellen en internetten in Engeland extra sinds de Brexit?"),
    ("q-46", 50, "Emigreren en contract", "Ik verhuis naar het buitenland, mag ik mijn abonnement voortijdig "
     "beëindigen?"),
    ("q-47", 51, "Galaxy tablet herkent sim niet", "Mijn Samsung-tablet geeft 'geen sim' terwijl de kaart in mijn "
     "telefoon werkt."),
    ("q-48", None, "Winkel open op zondag?", "Is de winkel in het centrum van Eindhoven op zondag open?"),
    ("q-49", None, "Compliment", "Wat een fijne hulp gisteren in de winkel in Zwolle, top!"),
    ("q-50", None, "Factuur als pdf", "Waar kan ik mijn facturen van vorig jaar downloaden als pdf?"),
    ("q-51", None, "Ander rekeningnummer", "Hoe wijzig ik het rekeningnummer waarvan jullie afschrijven?"),
    ("q-52", None, "Spam telefoontjes", "Ik word steeds gebeld door een onbekend nummer uit Engeland, hoe blokkeer ik "
     "dat?"),
    ("q-53", None, "Wachtwoord vergeten", "Ik kom niet meer in Mijn omgeving, wachtwoord vergeten en de "
     "herstelmail komt niet aan."),
]

# Tuning queries: the only queries the matching weights and threshold were chosen on.
TUNE_QUERIES: list[tuple] = [
    ("qt-01", 1, "eSIM kwijt na nieuwe iPhone", "De eSIM overgezet naar mijn nieuwe Apple telefoon en nu geen "
     "bereik. QR-code nodig?"),
    ("qt-02", 3, "iOS-update, geen netwerk", "Na het bijwerken van mijn iPhone zoekt hij eindeloos naar netwerk."),
    ("qt-03", 7, "Hotspot knop doet niks", "Mijn iPhone kan geen persoonlijke hotspot meer maken."),
    ("qt-04", 8, "Samsung en 5G-netwerk", "Hoe krijg ik 5G werkend op mijn Galaxy?"),
    ("qt-05", 12, "A34 geen data", "Sinds gisteren geen internet via 4G op mijn Samsung A34."),
    ("qt-06", 13, "eSIM en fysieke sim tegelijk op Samsung", "Dubbele sim instellen op een Galaxy, welke sim "
     "gebruikt data?"),
    ("qt-07", 14, "Modem lampje knippert", "Geen internet thuis, het lampje op het modem knippert."),
    ("qt-08", 16, "TV-box blijft hangen", "De decoder van de tv komt niet verder dan het opstartscherm."),
    ("qt-09", 18, "Trage wifi in huis", "Mijn wifi is traag in de kamer, met kabel gaat het wel snel."),
    ("qt-10", 20, "Vakantie Turkije internet", "Welke reisbundel voor twee weken Turkije?"),
    ("qt-11", 23, "Spanje geen data", "Op vakantie in Spanje werkt mobiel internet niet."),
    ("qt-12", 24, "Zwitserland bundel", "Valt Zwitserland onder de EU-tarieven?"),
    ("qt-13", 27, "Nummer overzetten", "Hoe werkt nummerbehoud als ik overstap?"),
    ("qt-14", 30, "Bundel wijzigen", "Ik wil mijn databundel aanpassen, kan dat per direct?"),
    ("qt-15", 32, "Data delen met gezin", "Kan ik mijn data delen met de sim van mijn dochter?"),
    ("qt-16", 33, "eSIM op Android Pixel", "eSIM aanvragen voor Google-telefoon?"),
    ("qt-17", 35, "OnePlus VoLTE", "Hoe zet ik VoLTE aan op mijn OnePlus?"),
    ("qt-18", 9, "Wifi-calling Samsung grijs", "Waarom kan ik wifi-bellen niet inschakelen op Samsung?"),
    ("qt-19", 4, "Voicemail iPhone", "Visual voicemail werkt niet op mijn iPhone."),
    ("qt-20", 29, "Overstap geannuleerd", "Mijn overstap ging niet door, het klantnummer zou fout zijn."),
    ("qt-21", 19, "Modem na verhuizing", "Modem doet het niet op ons nieuwe adres."),
    ("qt-22", 21, "Cruise en mobiel", "Wat kost internet op een cruiseschip?"),
    ("qt-23", None, "Winkel openingstijden", "Hoe laat gaat jullie winkel in Utrecht open?"),
    ("qt-24", None, "Cadeaubon", "Kan ik een cadeaubon van jullie winkel ook online gebruiken?"),
    ("qt-25", None, "Afvalbak telefoon", "Waar kan ik mijn oude telefoon inleveren voor recycling?"),
]


def build_queries(rows: list[tuple], threads: list[dict]) -> list[dict]:
    solver = {t["thread_id"]: next((p["author"]["id"] for p in t["posts"] if p["accepted"]), None) for t in threads}
    out = []
    for qid, n, title, body in rows:
        tid = f"t-{1000 + n}" if n is not None else None
        if tid is not None and solver.get(tid) is None:
            raise ValueError(f"{qid}: thread {tid} has no accepted solution")
        out.append({"id": qid, "title": title, "body": body, "relevant": [f"thread:{tid}"] if tid else [],
                    "expert": solver.get(tid) if tid else None})
    return out


def _post(pid: str, author: str, at: datetime, body: str, accepted: bool = False,
          labels: dict | None = None) -> dict:
    name, role = PEOPLE.get(author, (f"lid{author[2:]}", "member"))
    out = {"post_id": pid, "author": {"id": author, "name": name, "role": role},
           "created_at": at.isoformat().replace("+00:00", "Z"), "body": body, "accepted": accepted}
    if labels:
        out["labels"] = labels
    return out


def build_threads() -> list[dict]:
    start = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    out = []
    for n, board, title, question, labels, solver, solution, hours, reply in THREADS:
        at = start + timedelta(days=(n * 37) % 180, hours=(n * 5) % 12)
        asker = f"u-{900 + n}"
        posts = [_post("m-1", asker, at, question, labels=labels)]
        if reply:
            posts.append(_post("m-2", reply[0], at + timedelta(hours=min(hours / 3, 1.0)), reply[1]))
        if solver:
            posts.append(_post(f"m-{len(posts) + 1}", solver, at + timedelta(hours=hours), solution, accepted=True))
            posts.append(_post(f"m-{len(posts) + 1}", asker, at + timedelta(hours=hours + 2),
                               "Dank je wel, dit werkte!"))
        out.append({"thread_id": f"t-{1000 + n}", "title": title, "board": board,
                    "url": f"https://forum.example/t/{1000 + n}", "created_at": posts[0]["created_at"],
                    "posts": posts})
    return out


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


if __name__ == "__main__":
    threads = build_threads()
    _write(OUT / "threads.jsonl", threads)
    _write(OUT / "thread-queries.jsonl", build_queries(QUERIES, threads))
    _write(OUT / "thread-queries-tune.jsonl", build_queries(TUNE_QUERIES, threads))
