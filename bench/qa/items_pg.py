"""Questions over Paul Graham's essay "What I Worked On" (../shared/datasets/paul-graham-essay).

Each item: (id, question, answers, gold passage); answers are alternatives, any one counts. Unanswerable
items have no answers and no passage: the essay does not say, though it talks about the subject.
"""

DOC = "paul-graham-essay/data/paul_graham/paul_graham_essay.txt"

ANSWERABLE = [
    (
        "pg-01",
        "What computer did the author first program on in 9th grade?",
        ["IBM 1401", "1401"],
        'the IBM 1401 that our school district used for what was then called "data processing."',
    ),
    (
        "pg-02",
        "Which programming language did the author use on the school district's 1401?",
        ["Fortran"],
        "The language we used was an early version of Fortran.",
    ),
    (
        "pg-03",
        "Who was the author's friend who got permission to use the 1401 with him?",
        ["Rich Draves"],
        "my friend Rich Draves and I got permission to use it.",
    ),
    (
        "pg-04",
        "Which microcomputer did the author's father buy for him around 1980?",
        ["TRS-80"],
        "I convinced my father to buy one, a TRS-80, in about 1980.",
    ),
    (
        "pg-05",
        "What company sold the microcomputer kit that the author's friend built himself?",
        ["Heathkit"],
        "It was sold as a kit by Heathkit.",
    ),
    (
        "pg-06",
        "What subject did the author plan to study in college before switching to AI?",
        ["philosophy"],
        "In college I was going to study philosophy, which sounded much more powerful.",
    ),
    (
        "pg-07",
        "Which Heinlein novel made the author want to work on AI?",
        ["The Moon is a Harsh Mistress"],
        "a novel by Heinlein called The Moon is a Harsh Mistress, which featured an intelligent computer called Mike",
    ),
    (
        "pg-08",
        "What was the name of the intelligent computer in the Heinlein novel the author read?",
        ["Mike"],
        "which featured an intelligent computer called Mike",
    ),
    (
        "pg-09",
        "Which program was Terry Winograd shown using in the PBS documentary?",
        ["SHRDLU"],
        "a PBS documentary that showed Terry Winograd using SHRDLU",
    ),
    (
        "pg-10",
        "What was the default programming language at Cornell when the author was a student?",
        ["PL/I"],
        "The default language at Cornell was a Pascal-like language called PL/I",
    ),
    (
        "pg-11",
        "What did the author reverse-engineer for his undergraduate thesis?",
        ["SHRDLU"],
        "For my undergraduate thesis, I reverse-engineered SHRDLU.",
    ),
    (
        "pg-12",
        "Which grad school accepted the author?",
        ["Harvard"],
        "Only Harvard accepted me, so that was where I went.",
    ),
    (
        "pg-13",
        "In what year was the author's book On Lisp published?",
        ["1993"],
        "The book, On Lisp, wasn't published till 1993",
    ),
    (
        "pg-14",
        "Who was the author's advisor in his PhD program?",
        ["Tom Cheatham", "Cheatham"],
        "my advisor, Tom Cheatham, was very easy going.",
    ),
    (
        "pg-15",
        "What topic did the author pick for his dissertation?",
        ["applications of continuations", "continuations"],
        "I picked applications of continuations as the topic.",
    ),
    (
        "pg-16",
        "Which art school in the US accepted the author?",
        ["RISD"],
        "RISD accepted me, and I never heard back from the Accademia",
    ),
    (
        "pg-17",
        "Why was the Accademia's letter to the author delayed?",
        ["Cambridge England", "sent it to Cambridge England"],
        "they'd sent it to Cambridge England instead of Cambridge Massachusetts",
    ),
    (
        "pg-18",
        "What did the author write about in the essay question of the Accademia entrance exam?",
        ["Cezanne"],
        "I answered the essay question by writing about Cezanne",
    ),
    (
        "pg-19",
        "What was the author's daily budget in Florence after paying rent?",
        ["$7 a day", "$7"],
        "my budget for everything else had been $7 a day.",
    ),
    (
        "pg-20",
        "What company did the author work for to earn money between stints at RISD?",
        ["Interleaf"],
        "I got one at a company called Interleaf, which made software for creating documents.",
    ),
    (
        "pg-21",
        "Which editor inspired Interleaf to add a scripting language?",
        ["Emacs"],
        "Inspired by Emacs, they'd added a scripting language",
    ),
    ("pg-22", "In what year did the author drop out of RISD?", ["1993"], "So in 1993 I dropped out."),
    (
        "pg-23",
        "Which college friend helped the author get a rent-controlled apartment in New York?",
        ["Nancy Parmet"],
        "my college friend Nancy Parmet did me a big favor.",
    ),
    (
        "pg-24",
        "What was the name of the New York neighborhood where the author lived in 1993?",
        ["Yorkville"],
        "It's called Yorkville, and that was my new home.",
    ),
    (
        "pg-25",
        "Which painter, one of the early photorealists, did the author work for as a studio assistant?",
        ["Idelle Weber"],
        "Idelle Weber was a painter, one of the early photorealists, and I'd taken her painting class at Harvard.",
    ),
    (
        "pg-26",
        "What was the author's second book on Lisp called?",
        ["ANSI Common Lisp"],
        "after I submitted the camera-ready copy of ANSI Common Lisp to the publishers",
    ),
]

ANSWERABLE_LATE = [
    (
        "pg-27",
        "On what date did the first browser-controlled version of the store builder work?",
        ["August 12"],
        "A couple days later, on August 12, we had one that worked.",
    ),
    (
        "pg-28",
        "How much seed funding did Julian give Viaweb?",
        ["$10,000"],
        "we got $10,000 in seed funding from Idelle's husband Julian.",
    ),
    (
        "pg-29",
        "What share of Viaweb did Julian receive for his seed funding?",
        ["10%"],
        "we gave him 10% of the company.",
    ),
    (
        "pg-30",
        "Who did Robert Morris recommend as an additional programmer for Viaweb?",
        ["Trevor Blackwell"],
        "He recommended Trevor Blackwell, which surprised me at first",
    ),
    (
        "pg-31",
        "How many stores did Viaweb open for business with in January 1996?",
        ["6 stores", "6"],
        "We opened for business, with 6 stores, in January 1996.",
    ),
    (
        "pg-32",
        "What did Viaweb charge per month for a small store?",
        ["$100"],
        "We charged $100 a month for a small store and $300 a month for a big one.",
    ),
    (
        "pg-33",
        "Which part of the Viaweb software did Trevor write?",
        ["the manager", "manager"],
        "and the manager, which kept track of orders and statistics, and which Trevor wrote.",
    ),
    (
        "pg-34",
        "How many stores did Viaweb have at the end of 1997?",
        ["500"],
        "We had about 70 stores at the end of 1996 and about 500 at the end of 1997.",
    ),
    (
        "pg-35",
        "Which company bought Viaweb?",
        ["Yahoo"],
        "So we didn't reach breakeven until about when Yahoo bought us in the summer of 1998.",
    ),
    (
        "pg-36",
        "What car did the author buy after the Yahoo acquisition?",
        ["VW GTI", "1998 VW GTI"],
        "I bought a car, a yellow 1998 VW GTI.",
    ),
    (
        "pg-37",
        "What was the name of the company the author started in 2000 to build a web app for making web apps?",
        ["Aspra"],
        "it was going to be called Aspra.",
    ),
    (
        "pg-38",
        "What did the author call his new dialect of Lisp?",
        ["Arc"],
        "this new dialect of Lisp, which I called Arc, in a house I bought in Cambridge.",
    ),
    (
        "pg-39",
        "How many page views did the author's Lisp conference talk get in one day?",
        ["30,000"],
        "In one day it got 30,000 page views.",
    ),
    (
        "pg-40",
        "Which publisher reprinted a collection of the author's essays as Hackers & Painters?",
        ["O'Reilly"],
        "O'Reilly reprinted a collection of them as a book, called Hackers & Painters",
    ),
    (
        "pg-41",
        "At whose party did the author meet Jessica Livingston?",
        ["Maria Daniels"],
        "It was a clever idea of my friend Maria Daniels, who was one of the thursday diners.",
    ),
    (
        "pg-42",
        "How many applications did the Summer Founders Program get?",
        ["225"],
        "We got 225 applications for the Summer Founders Program",
    ),
    ("pg-43", "How many startups were picked for the first YC batch?", ["8"], "and from those we picked 8 to fund."),
    (
        "pg-44",
        "How much did YC invest per founder in the first batch?",
        ["$6k"],
        "We invested $6k per founder, which in the typical two-founder case was $12k, in return for 6%.",
    ),
    ("pg-45", "What was Hacker News originally called?", ["Startup News"], "was called Startup News"),
    (
        "pg-46",
        "Who was recruited to become president of YC?",
        ["Sam Altman"],
        "so we decided we'd try to recruit Sam Altman.",
    ),
    ("pg-47", "On what date did the author's mother die?", ["January 15, 2014"], "She died on January 15, 2014."),
    (
        "pg-48",
        "What was the new Lisp the author wrote between 2015 and 2019 called?",
        ["Bel"],
        "I wrote this new Lisp, called Bel, in itself in Arc.",
    ),
    (
        "pg-49",
        "To which country did the author's family move in the summer of 2016?",
        ["England"],
        "In the summer of 2016 we moved to England.",
    ),
    (
        "pg-50",
        "Who translated McCarthy's interpreter into IBM 704 machine language?",
        ["Steve Russell", "Russell"],
        "Russell translated McCarthy's interpreter into IBM 704 machine language",
    ),
]

UNANSWERABLE = [
    ("pg-u1", "How much did Yahoo pay to acquire Viaweb?"),
    ("pg-u2", "How many stores did Viaweb have at the end of 1998?"),
    ("pg-u3", "Which university did Jessica Livingston graduate from?"),
    ("pg-u4", "What was the name of the author's first son?"),
    ("pg-u5", "How many applications did YC receive for its winter 2014 batch?"),
    ("pg-u6", "What grade did the author get for his dissertation at Harvard?"),
    ("pg-u7", "What was the name of the author's boss at Yahoo?"),
    ("pg-u8", "How much did the author pay for his house in the Santa Cruz Mountains?"),
]
