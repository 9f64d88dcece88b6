"""More tune questions, written later than the others to give the tune split more room: every one is ``tune``.

They are asked only over what the corpus already holds and what the tune split already owns, so the corpus and the
test split stay exactly as they were: the tune documents of ``build.TUNE_DOCUMENTS``, the first half of the essay
(before the passage the split divides at), and SciFact abstracts among the corpus's 1,000 distractors (drawn with
seed 2026; none of them is a gold abstract of another question). Written by hand while reading the parsed text, in
the style of the others; unanswerable ones are near misses on the same subjects.

Items: (id, source, question, answers, gold passage) where source is a document path under ../shared/datasets, the
essay (its items carry no source), or a SciFact corpus id; unanswerable ones carry no answers and no passage.
"""

from __future__ import annotations

from items_docs import CHEVRON, DA, FAMILY, MASTERFORMAT, NESTLE, NORWICH, RECEIPT, SPARSE

DOCUMENTS = [
    ("docx-01", SPARSE, "On what date was the inventory reconciliation report SPARSE-2024-INV-1234 issued?",
     ["2024-11-15"], "Report Date: 2024-11-15"),
    ("docx-02", SPARSE, "Which warehouse does the inventory reconciliation report cover?",
     ["Distribution Center East"], "Warehouse: Distribution Center East"),
    ("docx-03", SPARSE, "What is the total value of SKU-9201 in the extended inventory review?",
     ["$25,285.00", "25,285"], "| SKU-9201 | Hardware | $32.50 | $25,285.00 | 2024-10-22 | Verified |"),
    ("docx-04", SPARSE, "Which SKU is the primary variance driver in the inventory reconciliation?",
     ["SKU-4563"], "The primary variance driver is SKU-4563"),
    ("docx-05", SPARSE, "In which category is SKU-5512?",
     ["Hardware"], "| SKU-5512 | Hardware | $89.00 | $31,150.00 | | Pending |"),
    ("docx-06", CHEVRON, "What share of electricity production in Israel is powered by the Tamar and Leviathan fields?",
     ["~70%", "70%"], "2.5 1st ~70%"),
    ("docx-07", DA, "Who told the tale of the abomination transcribed in the bestiary?",
     ["a former templar", "former templar"], "Transcribed from a tale told by a former templar in Cumberland"),
    ("docx-08", DA, "Which organization takes the business of the Circle of Magi very seriously?",
     ["the Chantry", "Chantry"], "the Chantry takes the business of the Circle of Magi very seriously indeed"),
    ("docx-09", FAMILY, "What company does Mallori Harrell work for?",
     ["Unstructured Technologies"], "Mallori Harrell Unstructured Technologies Data Scientist"),
    ("docx-10", FAMILY, "What is Mallori Harrell's job title?",
     ["Data Scientist"], "Mallori Harrell Unstructured Technologies Data Scientist"),
    ("docx-11", MASTERFORMAT, "Which society issued the RFP for construction management of the Ken Sargent House?",
     ["Rotary Clubs of Grande Prairie Wellness Centre Society"],
     "Rotary Clubs of Grande Prairie Wellness Centre Society"),
    ("docx-12", MASTERFORMAT, "Which section holds the description of the Ken Sargent House project?",
     ["Section 00 00 45", "00 00 45"], "Section 00 00 45 – Description of Project"),
    ("docx-13", RECEIPT, "Which card paid for the TechMart purchase?",
     ["Visa Card ending in 4782", "Visa"], "Visa Card ending in 4782"),
    ("docx-14", RECEIPT, "Who is the rewards member on the TechMart receipt?",
     ["Sarah Mitchell"], "REWARDS MEMBER Sarah Mitchell"),
    ("docx-15", RECEIPT, "How many more points does the TechMart rewards member need for the next reward?",
     ["1,753"], "at 5,000 pts (1,753 to go)"),
    ("docx-16", NESTLE,
     "What was Nestlé Health Science's underlying trading operating profit in January–June 2023 in millions of CHF?",
     ["432"], "| Nestlé Health Science | 3318 | 432 | 372 | -60 | -11 | -31 | -152 |"),
    ("docx-17", NESTLE, "What were Zone LATAM's sales in January–June 2022 in millions of CHF?",
     ["5659"], "| Zone LATAM | 5659 | 1196 | 1160 | -36 | -6 | -4 | -178 |"),
    ("docx-18", NORWICH, "Who was Iwan Roberts' school PE teacher?",
     ["Iolo Owen"], "Roberts credits his school PE teacher, Iolo Owen"),
    ("docx-19", NORWICH, "Where did Iwan Roberts grow up?",
     ["Barmouth"], "grew up in Barmouth, on the west coast of Wales"),
    ("docx-20", NORWICH, "In what year did Iwan Roberts move to Huddersfield Town?",
     ["1990"], "He moved to Huddersfield Town in 1990"),
    ("docx-21", NORWICH, "What is the title of Iwan Roberts' book?",
     ["All I Want for Christmas"], "His book, All I Want for Christmas"),
]  # fmt: skip

DOCUMENTS_UNANSWERABLE = [
    ("docx-u1", SPARSE, "Who approved the inventory reconciliation report SPARSE-2024-INV-1234?"),
    ("docx-u2", CHEVRON, "What carbon intensity did Chevron's Eastern Mediterranean operations have in 2021?"),
    ("docx-u3", MASTERFORMAT, "What is the submission deadline of the Ken Sargent House RFP?"),
    ("docx-u4", FAMILY, "Where will the family day be held?"),
    ("docx-u5", NESTLE, "What was Zone EUR's net profit in January–June 2023 in millions of CHF?"),
    ("docx-u6", RECEIPT, "What was the price of the wireless keyboard on the TechMart receipt?"),
    ("docx-u7", NORWICH, "How many goals did Iwan Roberts score for Leicester City in the FA Cup?"),
]

ESSAY_ITEMS = [
    ("pgx-01", "How old was the author when he first programmed the IBM 1401?",
     ["13 or 14"], "This was in 9th grade, so I was 13 or 14."),
    ("pgx-02", "Which microcomputer was the gold standard when the author got his TRS-80?",
     ["Apple II"], "The gold standard then was the Apple II"),
    ("pgx-03", "How many pages of text fit in memory on the author's TRS-80 word processor?",
     ["about 2 pages", "2 pages"], "There was only room in memory for about 2 pages of text"),
    ("pgx-04", "Who invented the type of parser the author used in his SHRDLU clone?",
     ["Bill Woods"], "was also home to Bill Woods, who'd invented the type of parser I used in my SHRDLU clone"),
    ("pgx-05", "In what year did the author visit Rich Draves at CMU?",
     ["1988"], "In this dissatisfied state I went in 1988 to visit Rich Draves at CMU"),
    ("pgx-06", "Which museum did the author visit when he realized paintings could last?",
     ["the Carnegie Institute", "Carnegie Institute"], "One day I went to visit the Carnegie Institute"),
    ("pgx-07", "Why was Robert Morris kicked out of Cornell?",
     ["writing the internet worm", "internet worm"],
     "my friend Robert Morris got kicked out of Cornell for writing the internet worm of 1988"),
    ("pgx-08", "How many weeks did the author have left to write his dissertation?",
     ["5 weeks"], "in the 5 weeks or so that remained before the deadline"),
    ("pgx-09", "How old was the author when he started at RISD?",
     ["25"], "because I was only 25"),
    ("pgx-10", "What surplus computers were floating around the computer lab at Harvard?",
     ["Xerox Dandelions"], "There were some surplus Xerox Dandelions floating around the computer lab"),
]  # fmt: skip

ESSAY_UNANSWERABLE = [
    ("pgx-u1", "How much did the author's father pay for the TRS-80?"),
    ("pgx-u2", "In what year did the author graduate from Cornell?"),
    ("pgx-u3", "What grade did the author get for his undergraduate thesis on SHRDLU?"),
    ("pgx-u4", "Who was the author's landlady in Providence?"),
]

SCIFACT = [
    ("sfx-01", "3512154", "Which DNA repair complex mediates the avoidance of self DNA in CRISPR spacer acquisition?",
     ["RecBCD"], "the avoidance of self is mediated by the RecBCD double-stranded DNA break repair complex"),
    ("sfx-02", "10078024", "What share of bone marrow cells were LepR+?",
     ["0.3%"], "Approximately 0.3% of bone marrow cells were LepR(+)"),
    ("sfx-03", "10078024", "What percentage of bone marrow CFU-Fs did LepR+ cells account for?",
     ["94%"], "accounting for 94% of bone marrow CFU-Fs"),
    ("sfx-04", "16787954", "Which antibiotic accumulates in the necrotic caseum of tuberculosis lesions?",
     ["Rifampicin"], "Rifampicin even accumulates in necrotic caseum"),
    ("sfx-05", "54490092", "How many elderly hypertensive patients were followed in the blood pressure variability study?",
     ["106"], "A total of 106 consecutive hypertensive patients"),
    ("sfx-06", "54490092",
     "How many cardiovascular events were observed during follow-up of the elderly hypertensive patients?",
     ["39"], "39 cardiovascular events were observed"),
    ("sfx-07", "17194716", "Which mouse melanoma cells were used to study fascin in filopodia?",
     ["B16F1"], "mouse melanoma B16F1 cells"),
    ("sfx-08", "54561384",
     "How many transcription factors were expressed to reprogram committed blood cells into induced HSCs?",
     ["six", "6"], "transient expression of six transcription factors"),
    ("sfx-09", "3105781", "Where is the Ctr2 copper transporter localized in yeast cells?",
     ["vacuole membrane", "vacuole"], "localize Ctr2 to the vacuole membrane"),
    ("sfx-10", "40901687", "Which prolyl hydroxylase hydroxylates HCLK2?",
     ["PHD3", "prolyl hydroxylase domain protein 3"], "hydroxylated by prolyl hydroxylase domain protein 3 (PHD3)"),
    ("sfx-11", "21372171", "How many patients with peripheral artery disease were studied for plasma HMGB1?",
     ["24"], "We studied 24 patients with peripheral artery disease"),
    ("sfx-12", "22049489", "Which tumor suppressor does miR-675 target in gastric cancer?",
     ["RUNX1"], "the tumor suppressor Runt Domain Transcription Factor1 (RUNX1) was confirmed to be a direct target"),
    ("sfx-13", "6477740", "How many small molecules were in the cocktail used to generate fully reprogrammed human iPS cells?",
     ["three", "3"], "a cocktail containing three small molecules"),
]  # fmt: skip

SCIFACT_UNANSWERABLE = [
    ("sfx-u1", "54490092", "How many of the elderly hypertensive patients had an intracerebral hemorrhage?"),
    ("sfx-u2", "21372171", "What were plasma HMGB1 levels in patients with coronary artery disease?"),
    ("sfx-u3", "3512154", "In which year was CRISPR adaptation first described in Streptococcus thermophilus?"),
]
