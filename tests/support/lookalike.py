"""A deterministic look-alike network: hundreds of municipal newsroom feeds written from
shared templates and phrase banks, with known ground truth.

Every member story is its own story, however much it looks like another city's ("Leeds: the
city council funds a night bus network" / "Gdańsk: the city council funds a night bus
network"). Partners republish some of them: under their own link with a "Via X:" prefix or a
"| X" suffix, a trimmed summary, their own language's category words, a day or three later;
some link straight to the member's page. ``Item.story`` is the truth the dedup is judged by.

All text here was written for this project. Used by tests/test_lookalike.py and
benchmarks/lookalike_precision.py.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

BASE = datetime(2026, 3, 1, tzinfo=UTC)
SPAN_DAYS = 30
CROSS_POST_DELAY_HOURS = 72  # a partner republishes up to three days later
# a poll moment after every item, cross-posts included (a later date is implausible)
NOW = BASE + timedelta(days=SPAN_DAYS, hours=CROSS_POST_DELAY_HOURS + 1)

CITIES = """
Leeds Gdańsk Lausanne Sousse Durban Bogotá Medellín Porto Braga Lyon Nantes Lille Rennes
Bordeaux Grenoble Liège Namur Genève Montréal Québec Dakar Abidjan Rabat Tunis Sfax Bilbao
Sevilla Valencia Zaragoza Málaga Córdoba Rosario Mendoza Quito Cuenca Lima Arequipa Cusco
Santiago Valparaíso Montevideo Asunción Recife Salvador Fortaleza Curitiba Manaus Belém
Maputo Luanda Praia Bristol Glasgow Cardiff Belfast Dublin Cork Galway Aarhus Malmö Bergen
Tampere Tallinn Riga Vilnius Kraków Wrocław Poznań Brno Ostrava Graz Linz Basel Bern Lugano
Turin Bologna Naples Bari Palermo Lisbon Coimbra Faro Funchal Kigali Kampala Nairobi Mombasa
Accra Kumasi Lagos Ibadan Douala Yaoundé Cotonou Lomé Niamey Bamako Ouagadougou Nouakchott
Tangier Fès Oran Constantine Alexandria Izmir Bursa Tbilisi Yerevan Almaty Bishkek Dhaka
Pune Surat Indore Kochi Colombo Kandy Penang Cebu Davao Surabaya Bandung Medan Hanoi Danang
Hue Busan Daegu Incheon Sapporo Sendai Kobe Fukuoka Brisbane Perth Adelaide Hobart Auckland
Wellington Halifax Winnipeg Calgary Regina Oaxaca Puebla Mérida León Tijuana Guadalajara
Antigua Tegucigalpa Managua Panamá Cali Cartagena Barranquilla Pereira Manizales Sucre
Potosí Oruro Tarija Salta Tucumán Neuquén Bahía Osorno Temuco Iquique Arica Chiclayo
Trujillo Piura Loja Ambato Guayaquil Natal Maceió Aracaju Goiânia Campinas Santos Londrina
Joinville Pelotas Caxias Niterói Vitória Uberlândia Sorocaba Ribeirão Juiz Blumenau Chapecó
Toulouse Marseille Nice Strasbourg Metz Nancy Dijon Besançon Rouen Caen Brest Tours Angers
Limoges Poitiers Pau Bayonne Perpignan Montpellier Avignon Toulon Annecy Chambéry Valence
Nîmes Béziers Arles Sète Agadir Meknès Oujda Kenitra Safi Tétouan Gabès Bizerte Kairouan
Monastir Nabeul Djerba
""".split()  # noqa: SIM905 (a list this long reads better as text)

LANGS = ("en", "fr", "es", "pt")
CATEGORY_WORDS = {
    "resilience": {"en": "Resilience", "fr": "Résilience", "es": "Resiliencia",
                   "pt": "Resiliência"},
    "mobility": {"en": "Mobility", "fr": "Mobilité", "es": "Movilidad", "pt": "Mobilidade"},
    "migration": {"en": "Migration", "fr": "Migrations", "es": "Migración", "pt": "Migração"},
    "culture": {"en": "Culture", "fr": "Culture", "es": "Cultura", "pt": "Cultura"},
}

TEMPLATES: dict[str, dict[str, list[str]]] = {
    "en": {
        "title": ["{city}: the {actor} {verb} {prog}", "The {actor} {verb} {prog}"],
        "actor": ["city council", "mayor's office", "metropolitan agency",
                  "citizens' coalition", "youth council"],
        "verb": ["funds", "launches", "debates", "expands", "evaluates"],
        "prog": ["a night bus network", "language classes for refugees",
                 "subsidies for green roofs", "a flood early warning system",
                 "a public bicycle scheme", "a welcome desk for newcomers",
                 "a heat action plan", "free museum Sundays", "a river clean-up programme",
                 "safe routes to school"],
        "opening": [
            "The {actor} announced on {day} that it {verb} {prog} in {city}.",
            "{city}, {day}. The {actor} {verb} {prog} after months of consultation.",
            "As part of its local agenda, the {actor} {verb} {prog} for the districts "
            "of {city}.",
        ],
        "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        "sentence": [
            "Residents were consulted in a series of public meetings last year.",
            "The budget will be reviewed by the council at the end of the year.",
            "Local associations welcomed the decision and asked for a clear timetable.",
            "The first results are expected before the summer.",
            "The programme is part of the city's commitments to the global agenda.",
            "Neighbouring municipalities have shown interest in the approach.",
            "A public report will be published on the city's website.",
            "Volunteers can register at the town hall from next week.",
        ],
    },
    "fr": {
        "title": ["{city} : {actor} {verb} {prog}", "{Actor} {verb} {prog}"],
        "actor": ["le conseil municipal", "la mairie", "l'agence métropolitaine",
                  "la coalition citoyenne", "le conseil des jeunes"],
        "verb": ["finance", "lance", "débat sur", "étend", "évalue"],
        "prog": ["un réseau de bus de nuit", "des cours de langue pour les réfugiés",
                 "des aides pour les toits végétalisés", "un système d'alerte aux crues",
                 "un service de vélos publics", "un guichet d'accueil des nouveaux arrivants",
                 "un plan canicule", "des dimanches gratuits au musée",
                 "un programme de nettoyage de la rivière", "des trajets sûrs vers l'école"],
        "opening": [
            "{Actor} a annoncé {day} qu'il {verb} {prog} à {city}.",
            "{city}, {day}. {Actor} {verb} {prog} après des mois de concertation.",
            "Dans le cadre de son agenda local, {actor} {verb} {prog} pour les quartiers "
            "de {city}.",
        ],
        "day": ["lundi", "mardi", "mercredi", "jeudi", "vendredi"],
        "sentence": [
            "Les habitants ont été consultés lors de réunions publiques l'an dernier.",
            "Le budget sera revu par le conseil à la fin de l'année.",
            "Les associations locales ont salué la décision et demandent un calendrier.",
            "Les premiers résultats sont attendus avant l'été.",
            "Le programme s'inscrit dans les engagements de la ville pour l'agenda mondial.",
            "Des communes voisines se sont montrées intéressées par la démarche.",
            "Un rapport public sera mis en ligne sur le site de la ville.",
            "Les bénévoles peuvent s'inscrire à la mairie dès la semaine prochaine.",
        ],
    },
    "es": {
        "title": ["{city}: {actor} {verb} {prog}", "{Actor} {verb} {prog}"],
        "actor": ["el concejo municipal", "la alcaldía", "la agencia metropolitana",
                  "la coalición ciudadana", "el consejo de la juventud"],
        "verb": ["financia", "lanza", "debate sobre", "amplía", "evalúa"],
        "prog": ["una red de autobuses nocturnos", "clases de idioma para refugiados",
                 "ayudas para techos verdes", "un sistema de alerta de inundaciones",
                 "un sistema de bicicletas públicas", "una oficina de acogida",
                 "un plan contra el calor", "domingos gratuitos en los museos",
                 "un programa de limpieza del río", "caminos seguros a la escuela"],
        "opening": [
            "{Actor} anunció el {day} que {verb} {prog} en {city}.",
            "{city}, {day}. {Actor} {verb} {prog} tras meses de consulta.",
            "En el marco de su agenda local, {actor} {verb} {prog} para los barrios "
            "de {city}.",
        ],
        "day": ["lunes", "martes", "miércoles", "jueves", "viernes"],
        "sentence": [
            "Los vecinos fueron consultados en reuniones públicas el año pasado.",
            "El presupuesto será revisado por el concejo a fin de año.",
            "Las asociaciones locales celebraron la decisión y piden un calendario.",
            "Los primeros resultados se esperan antes del verano.",
            "El programa forma parte de los compromisos de la ciudad con la agenda global.",
            "Municipios vecinos mostraron interés en la iniciativa.",
            "Un informe público se publicará en el sitio de la ciudad.",
            "Los voluntarios pueden inscribirse en el ayuntamiento desde la próxima semana.",
        ],
    },
    "pt": {
        "title": ["{city}: {actor} {verb} {prog}", "{Actor} {verb} {prog}"],
        "actor": ["a câmara municipal", "a prefeitura", "a agência metropolitana",
                  "a coligação cidadã", "o conselho da juventude"],
        "verb": ["financia", "lança", "debate", "amplia", "avalia"],
        "prog": ["uma rede de autocarros noturnos", "aulas de língua para refugiados",
                 "apoios para telhados verdes", "um sistema de alerta de cheias",
                 "um sistema de bicicletas públicas", "um balcão de acolhimento",
                 "um plano contra o calor", "domingos gratuitos nos museus",
                 "um programa de limpeza do rio", "caminhos seguros para a escola"],
        "opening": [
            "{Actor} anunciou na {day} que {verb} {prog} em {city}.",
            "{city}, {day}. {Actor} {verb} {prog} após meses de consulta.",
            "No quadro da sua agenda local, {actor} {verb} {prog} para os bairros "
            "de {city}.",
        ],
        "day": ["segunda-feira", "terça-feira", "quarta-feira", "quinta-feira",
                "sexta-feira"],
        "sentence": [
            "Os moradores foram consultados em reuniões públicas no ano passado.",
            "O orçamento será revisto pela câmara no final do ano.",
            "As associações locais saudaram a decisão e pedem um calendário.",
            "Os primeiros resultados são esperados antes do verão.",
            "O programa faz parte dos compromissos da cidade com a agenda global.",
            "Municípios vizinhos mostraram interesse na iniciativa.",
            "Um relatório público será publicado no sítio da cidade.",
            "Os voluntários podem inscrever-se na câmara a partir da próxima semana.",
        ],
    },
}

PARTNERS = ["Cities Alliance", "Urban Resilience Hub", "Migration Partnership",
            "Mobility Observatory", "Culture Network", "Local Agenda Programme",
            "Habitat Desk", "Municipal Exchange", "Regions Forum", "Green Cities Fund",
            "Safe Cities Initiative", "Youth Cities Lab"]


@dataclass
class Item:
    story: str  # ground truth: items with the same story are one story
    guid: str
    link: str
    title: str
    summary: str
    published: datetime
    category: str


@dataclass
class Feed:
    source_id: str
    kind: str
    language: str
    format: str  # rss2 | atom | rss1
    home: str
    items: list[Item] = field(default_factory=list)

    @property
    def file_name(self) -> str:
        return f"{self.source_id}.{'atom' if self.format == 'atom' else 'xml'}"


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() else "-" for c in ascii_text).strip("-")


def _story(rng: random.Random, lang: str, city: str, used: set[tuple[int, int, int]]
           ) -> tuple[str, str, str]:
    t = TEMPLATES[lang]
    while True:
        combo = (rng.randrange(5), rng.randrange(5), rng.randrange(10))
        if combo not in used:
            used.add(combo)
            break
    actor, verb, prog = t["actor"][combo[0]], t["verb"][combo[1]], t["prog"][combo[2]]
    words = {"city": city, "actor": actor, "Actor": actor[0].upper() + actor[1:],
             "verb": verb, "prog": prog, "day": rng.choice(t["day"])}
    # one title in five leaves the city out: then many cities share the very same title
    title = t["title"][1 if rng.random() < 0.2 else 0].format(**words)
    sentences = rng.sample(t["sentence"], 3)
    summary = " ".join([rng.choice(t["opening"]).format(**words), *sentences])
    return title, summary, rng.choice(list(CATEGORY_WORDS))


def network(members: int = 200, partners: int = 12, per_feed: int = 24, seed: int = 2026,
            cross_post_rate: float = 0.12, prefix: str = "") -> list[Feed]:
    """The feeds of the network, with ground truth in each item's ``story``; ``prefix``
    names a second, disjoint network (for benchmarks that add new entries to a store)."""
    rng = random.Random(seed)
    formats = ("rss2", "atom", "rss1")
    feeds: list[Feed] = []
    for i in range(members):
        # past the list, numbered towns ("Leeds 2"): look-alikes of look-alikes
        city = CITIES[i % len(CITIES)] + (f" {i // len(CITIES) + 1}" if i >= len(CITIES) else "")
        lang = LANGS[i % len(LANGS)]
        slug = prefix + _slug(city) + f"-{i}"
        feed = Feed(f"city-{slug}", "member", lang, formats[i % 3], f"https://{slug}.gov.example/")
        used: set[tuple[int, int, int]] = set()
        for n in range(per_feed):
            title, summary, category = _story(rng, lang, city, used)
            published = BASE + timedelta(minutes=rng.randrange(SPAN_DAYS * 24 * 60))
            link = f"{feed.home}news/{n}-{_slug(title)[:40]}"
            feed.items.append(Item(f"{feed.source_id}/{n}", f"{feed.home}?p={1000 + n}",
                                   link, title, summary, published, category))
        feeds.append(feed)
    hubs = [Feed(f"partner-{prefix}{_slug(name)}", "partner", LANGS[k % len(LANGS)], formats[k % 3],
                 f"https://{prefix}{_slug(name)}.org.example/") for k, name in
            enumerate(PARTNERS[:partners])]
    for feed in feeds[:members]:
        for item in feed.items:
            if rng.random() < cross_post_rate:
                k = rng.randrange(len(hubs))
                hubs[k].items.append(_cross_post(rng, item, hubs[k], PARTNERS[k]))
    return feeds + hubs


def _cross_post(rng: random.Random, item: Item, hub: Feed, name: str) -> Item:
    n = len(hub.items)
    shape = rng.random()
    title = (f"Via {name}: {item.title}" if shape < 0.5 else
             f"{item.title} | {name}" if shape < 0.7 else item.title)
    words = item.summary.split()
    keep = rng.randrange(18, len(words) + 1)
    summary = " ".join(words[:keep]) + ("\u2026" if keep < len(words) else "")
    link = (item.link + "?utm_source=partner" if rng.random() < 0.15
            else f"{hub.home}stories/{n}")
    published = item.published + timedelta(hours=rng.randrange(0, CROSS_POST_DELAY_HOURS))
    return Item(item.story, f"{hub.home}?story={n}", link, title, summary, published,
                item.category)


def render(feed: Feed) -> bytes:
    return {"rss2": _rss2, "atom": _atom, "rss1": _rss1}[feed.format](feed).encode("utf-8")


def _category(feed: Feed, item: Item) -> str:
    return CATEGORY_WORDS[item.category][feed.language]


def _rss2(feed: Feed) -> str:
    items = "".join(
        f"<item><title>{escape(i.title)}</title><link>{escape(i.link)}</link>"
        f"<guid isPermaLink=\"false\">{escape(i.guid)}</guid>"
        f"<pubDate>{i.published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<category>{escape(_category(feed, i))}</category>"
        f"<description>{escape(i.summary)}</description></item>\n" for i in feed.items)
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>{escape(feed.source_id)}</title><link>{feed.home}</link>"
            f"<description>News</description><language>{feed.language}</language>\n"
            f"{items}</channel></rss>\n")


def _atom(feed: Feed) -> str:
    items = "".join(
        f"<entry><title>{escape(i.title)}</title><link href={quoteattr(i.link)}/>"
        f"<id>{escape(i.guid)}</id><updated>{i.published.isoformat()}</updated>"
        f"<category term={quoteattr(_category(feed, i))}/>"
        f"<summary>{escape(i.summary)}</summary></entry>\n" for i in feed.items)
    return (f'<?xml version="1.0" encoding="utf-8"?>\n'
            f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{feed.language}">'
            f"<title>{escape(feed.source_id)}</title><id>{feed.home}</id>"
            f"<link href={quoteattr(feed.home)}/><updated>{BASE.isoformat()}</updated>"
            f"<author><name>{escape(feed.source_id)}</name></author>\n{items}</feed>\n")


def _rss1(feed: Feed) -> str:
    seq = "".join(f"<rdf:li rdf:resource={quoteattr(i.guid)}/>" for i in feed.items)
    items = "".join(
        f"<item rdf:about={quoteattr(i.guid)}><title>{escape(i.title)}</title>"
        f"<link>{escape(i.link)}</link><dc:date>{i.published.isoformat()}</dc:date>"
        f"<dc:subject>{escape(_category(feed, i))}</dc:subject>"
        f"<description>{escape(i.summary)}</description></item>\n" for i in feed.items)
    return (f'<?xml version="1.0" encoding="utf-8"?>\n'
            f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            f'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<channel rdf:about={quoteattr(feed.home)}><title>{escape(feed.source_id)}</title>"
            f"<link>{feed.home}</link><description>News</description>"
            f"<dc:language>{feed.language}</dc:language>"
            f"<items><rdf:Seq>{seq}</rdf:Seq></items></channel>\n{items}</rdf:RDF>\n")


def write(feeds: list[Feed], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for feed in feeds:
        (directory / feed.file_name).write_bytes(render(feed))


def truth(feeds: list[Feed]) -> dict[tuple[str, str], str]:
    """(source id, guid) -> story."""
    return {(f.source_id, i.guid): i.story for f in feeds for i in f.items}
