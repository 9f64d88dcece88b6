"""Questions over real documents in ../shared/datasets/documents (markitdown's and unstructured's test files).

Each item: (id, document path under ../shared/datasets, question, answers, gold passage). The gold passage is
copied from the text Quarry's parser extracts (whitespace may differ); the split is by document.
"""

MD = "documents/markitdown/packages/markitdown/tests/test_files/"
UN = "documents/unstructured/example-docs/"

RECEIPT = MD + "RECEIPT-2024-TXN-98765_retail_purchase.pdf"
REPAIR = MD + "REPAIR-2022-INV-001_multipage.pdf"
SPARSE = MD + "SPARSE-2024-INV-1234_borderless_table.pdf"
MOVIE = MD + "movie-theater-booking-2024.pdf"
AUTOGEN_PDF = MD + "test.pdf"
AUTOGEN_PPTX = MD + "test.pptx"
BLOG = MD + "test_blog.html"
WIKI = MD + "test_wikipedia.html"
TENK = UN + "example-10k.html"
NORWICH = UN + "norwich-city.txt"
NESTLE = UN + "2023-half-year-analyses-by-segment.xlsx"
STANLEY = UN + "stanley-cups.csv"
CHEVRON = UN + "pdf/chevron-page.pdf"
RELIANCE = UN + "pdf/reliance.pdf"
FAMILY = UN + "eml/family-day.eml"
SCIENCE = UN + "science-exploration-1p.pptx"
DA = UN + "pdf/DA-1p.pdf"
CORROSION = UN + "pdf/embedded-images-tables.pdf"
MASTERFORMAT = MD + "masterformat_partial_numbering.pdf"

ANSWERABLE = [
    # a retail receipt (PDF)
    (
        "doc-01",
        RECEIPT,
        "What was the total amount paid on the TechMart receipt?",
        ["$821.14", "821.14"],
        "TOTAL $821.14",
    ),
    (
        "doc-02",
        RECEIPT,
        "Who was the cashier on the TechMart receipt?",
        ["Emily Rodriguez"],
        "Cashier: Emily Rodriguez",
    ),
    (
        "doc-03",
        RECEIPT,
        "What sales tax rate was charged on the TechMart purchase?",
        ["8.5%"],
        "Sales Tax (8.5%) $66.23",
    ),
    ("doc-04", RECEIPT, "How many days does TechMart allow for returns?", ["30 days"], "Returns within 30 days"),
    ("doc-05", RECEIPT, "How many reward points did the TechMart purchase earn?", ["821"], "Points Earned: 821"),
    # a repair estimate (PDF)
    (
        "doc-06",
        REPAIR,
        "Who is the estimator on the Zava Auto Repair estimate?",
        ["Ellis Turner"],
        "Estimator Ellis Turner",
    ),
    ("doc-07", REPAIR, "What is the sales tax rate on the Zava Auto Repair estimate?", ["10.20%"], "Sales Tax 10.20%"),
    ("doc-08", REPAIR, "What is the VIN of Gabriel Diaz's Jeep?", ["1C4RJFBG2NC123456"], "VIN 1C4RJFBG2NC123456"),
    ("doc-09", REPAIR, "In which city is Zava Auto Repair located?", ["Redmond"], "123 Main Street, Redmond, WA 98052"),
    # an inventory report with a borderless table (PDF)
    (
        "doc-10",
        SPARSE,
        "Who prepared the inventory reconciliation report SPARSE-2024-INV-1234?",
        ["Sarah Martinez"],
        "Prepared By: Sarah Martinez",
    ),
    (
        "doc-11",
        SPARSE,
        "What overall accuracy does the inventory reconciliation report state?",
        ["97.2%"],
        "Overall Accuracy: 97.2%",
    ),
    (
        "doc-12",
        SPARSE,
        "What is the total variance cost in the inventory reconciliation report?",
        ["$4,287.50"],
        "Total Variance Cost: $4,287.50",
    ),
    ("doc-13", SPARSE, "What is the unit cost of SKU-6678?", ["$200.00"], "SKU-6678 Software $200.00"),
    # a cinema booking order (PDF)
    (
        "doc-14",
        MOVIE,
        "Which cinema is the Holiday Movie Marathon Package booked at?",
        ["Downtown Multiplex"],
        "Cinema: Downtown Multiplex",
    ),
    (
        "doc-15",
        MOVIE,
        "What is the commission rate of the booking agency in the Starlight Cinemas order?",
        ["10%"],
        "Commission: 10%",
    ),
    ("doc-16", MOVIE, "What is the runtime of Holiday Spectacular?", ["142 min"], "(Runtime: 142 min)"),
    (
        "doc-17",
        MOVIE,
        "What is the total revenue of the Starlight Cinemas booking order?",
        ["$12,500.00"],
        "Total Revenue: $12,500.00",
    ),
    # the AutoGen paper (PDF), slides (PPTX) and a blog post (HTML)
    (
        "doc-18",
        AUTOGEN_PDF,
        "What is the name of the generalized multi-agent conversation framework presented in the paper?",
        ["AutoGen"],
        "we present AutoGen, a generalized multi-agent conversation framework",
    ),
    (
        "doc-19",
        BLOG,
        "How many math competition problems does the MATH benchmark consist of?",
        ["12K"],
        "MATH consists of 12K math competition problems from AMC-10, AMC-12 and AIME.",
    ),
    (
        "doc-20",
        BLOG,
        "On what date was the AutoGen blog post about the MATH case study published?",
        ["April 21, 2023"],
        "April 21, 2023 · 6 min read",
    ),
    (
        "doc-21",
        AUTOGEN_PPTX,
        "Who is the first author listed on the AutoGen slides?",
        ["Qingyun Wu"],
        "Qingyun Wu , Gagan Bansal",
    ),
    # Wikipedia: Microsoft (HTML)
    ("doc-22", WIKI, "On what date was Microsoft founded?", ["April 4, 1975"], "on April 4, 1975, to develop and sell"),
    (
        "doc-23",
        WIKI,
        "On what date did Microsoft release Windows?",
        ["November 20, 1985"],
        "on November 20, 1985, as a graphical extension for",
    ),
    (
        "doc-24",
        WIKI,
        "How much was Microsoft's all-cash deal for Activision Blizzard worth?",
        ["$68.7 billion"],
        "in an all-cash deal worth $68.7 billion.",
    ),
    ("doc-25", WIKI, "What was Microsoft's revenue in 2012 in million US dollars?", ["73,723"], "| 2012 | 73,723 |"),
    (
        "doc-26",
        WIKI,
        "How many employees did Microsoft have in 2008 according to its financial table?",
        ["91,000"],
        "| 2008 | 60,420 | 17,681 | 72,793 | 91,000 |",
    ),
    (
        "doc-27",
        WIKI,
        "What was Microsoft's net loss in its first quarterly loss in July 2012?",
        ["$492 million"],
        "with a net loss of $492 million",
    ),
    (
        "doc-28",
        WIKI,
        "How many employees did Satya Nadella announce Microsoft would lay off in January 2023?",
        ["10,000"],
        "Microsoft would lay off some 10,000 employees.",
    ),
    # a 10-K filing (HTML)
    ("doc-29", TENK, "How many full-time employees does Galaxy Gaming have?", ["36"], "We have 36 full-time employees"),
    (
        "doc-30",
        TENK,
        "What is Galaxy Gaming's commission file number?",
        ["000-30653"],
        "Commission file number: 000-30653",
    ),
    (
        "doc-31",
        TENK,
        "What was Galaxy Gaming's total revenue in 2021?",
        ["19,984,378"],
        "| Total revenue | | | 19,984,378 |",
    ),
    (
        "doc-32",
        TENK,
        "What were Galaxy Gaming's share-based compensation expenses in 2021?",
        ["$1,532,455"],
        "Share-based compensation expenses were $1,532,455 in 2021",
    ),
    ("doc-33", TENK, "What is Galaxy Gaming's trading symbol?", ["GLXZ"], "| Common stock | | GLXZ |"),
    # a Wikipedia biography (text)
    ("doc-34", NORWICH, "Where was Iwan Roberts born?", ["Bangor"], "Place of birth Bangor, Wales"),
    (
        "doc-35",
        NORWICH,
        "How many caps did Iwan Roberts win for Wales?",
        ["fifteen", "15"],
        "amassed fifteen caps between 1989 and 2001, without scoring.",
    ),
    (
        "doc-36",
        NORWICH,
        "In what year was Iwan Roberts elected to the Norwich City F.C. Hall of Fame?",
        ["2002"],
        "He was elected to the Norwich City F.C. Hall of Fame in\n2002",
    ),
    (
        "doc-37",
        NORWICH,
        "Which Norwich City manager signed Iwan Roberts from Wolves?",
        ["Mike Walker"],
        "In July 1997, Norwich City manager Mike Walker paid",
    ),
    (
        "doc-38",
        NORWICH,
        "How many league appearances did Iwan Roberts make in his career?",
        ["647"],
        "Roberts made 647 league appearances during his career",
    ),
    # Nestlé half-year segment analysis (XLSX)
    (
        "doc-39",
        NESTLE,
        "What were Zone NA's sales in January–June 2023 in millions of CHF?",
        ["12553"],
        "| Zone NA | 12553 | 2713 |",
    ),
    (
        "doc-40",
        NESTLE,
        "What were Nespresso's sales in January–June 2022 in millions of CHF?",
        ["3190"],
        "| Nespresso | 3190 | 777 |",
    ),
    (
        "doc-41",
        NESTLE,
        "What were total sales across all segments in January–June 2023 in millions of CHF?",
        ["46293"],
        "| Total | 46293 | 7904 |",
    ),
    # Stanley Cups (CSV)
    (
        "doc-42",
        STANLEY,
        "How many Stanley Cups have the Maple Leafs won according to the table?",
        ["13"],
        "| Maple Leafs | TOR | 13 |",
    ),
    # Chevron sustainability page (PDF)
    (
        "doc-43",
        CHEVRON,
        "To which countries are the Tamar and Leviathan fields exporting natural gas?",
        ["Jordan and Egypt"],
        "Tamar and Leviathan fields are exporting natural gas to neighboring Jordan and Egypt.",
    ),
    (
        "doc-44",
        CHEVRON,
        "What carbon intensity did Chevron's Eastern Mediterranean operations have in 2022?",
        ["2.5"],
        "2.5 1st ~70%\nkilograms CO₂e/boe",
    ),
    # Reliance annual report (PDF)
    (
        "doc-45",
        RELIANCE,
        "Who is the Chairman and Managing Director of Reliance Industries?",
        ["Mukesh D. Ambani", "Mukesh Ambani"],
        "Shri Mukesh D. Ambani\nChairman & Managing Director",
    ),
    (
        "doc-46",
        RELIANCE,
        "How many new jobs did Reliance create according to its 2021-22 annual report?",
        ["2,32,822"],
        "2,32,822\nNew jobs created",
    ),
    # an email (EML)
    (
        "doc-47",
        FAMILY,
        "What activities will there be at the family day?",
        ["face painting"],
        "There will be face painting, a petting zoo, funnel cake and more.",
    ),
    ("doc-48", FAMILY, "Who sent the family day email?", ["Mallori Harrell"], "From: Mallori Harrell"),
    # NASA GSFC slide (PPTX)
    (
        "doc-49",
        SCIENCE,
        "Which GSFC code is the Heliophysics Science Division?",
        ["Code 670", "670"],
        "Code 670: Heliophysics Science Division",
    ),
    (
        "doc-50",
        SCIENCE,
        "Out of which office is the SEDVME project managed?",
        ["606"],
        "The SEDVME project is managed out of 606",
    ),
    # a game rulebook page (PDF)
    (
        "doc-51",
        DA,
        "What creature results when a demon possesses a mage?",
        ["abomination"],
        "the result is an unholy union known as an abomination",
    ),
    # a corrosion study page with a table (PDF)
    (
        "doc-52",
        CORROSION,
        "What is the corrosion rate of stainless steel with 10 g of inhibitor?",
        ["0.0919"],
        "10 0.0382 0.0086 0.5356 1.24E-05 246.080 0.0919",
    ),
    (
        "doc-53",
        CORROSION,
        "In what acid solution was the stainless steel tested?",
        ["H2SO4", "sulphuric acid"],
        "in 0.5 M H2SO4 solution",
    ),
    # an RFP (PDF)
    (
        "doc-54",
        MASTERFORMAT,
        "In which city is the Ken Sargent House project?",
        ["Grande Prairie"],
        "GRANDE PRAIRIE, ALBERTA",
    ),
]

UNANSWERABLE = [
    ("doc-u1", WIKI, "What was Microsoft's revenue in 2024 in million US dollars?"),
    ("doc-u2", NESTLE, "What were Zone NA's sales in January–June 2021 in millions of CHF?"),
    ("doc-u3", RECEIPT, "What is the employee ID of the TechMart cashier?"),
    ("doc-u4", TENK, "How many part-time employees does Galaxy Gaming have?"),
    ("doc-u5", NORWICH, "How many goals did Iwan Roberts score for Wales B in 1995?"),
    ("doc-u6", MOVIE, "What is the runtime of the movie Winter Spectacular?"),
    ("doc-u7", REPAIR, "What is the deductible on Gabriel Diaz's insurance claim?"),
    ("doc-u8", CHEVRON, "How much natural gas did the Tamar field produce in 2019?"),
    ("doc-u9", SPARSE, "What is the unit cost of SKU-9999?"),
    ("doc-u10", FAMILY, "At what time does the family day start?"),
]
