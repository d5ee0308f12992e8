"""Synthetic SMS corpus (seeded): writes /app/data/train.tsv and test.tsv. Tests import make()."""
import random

COMMON = ("the a to you i and is it for on me my in at be this that have can we are so but not "
          "just now get your was will do with all up out if about what when time day").split()
SPAM = ("free win winner prize cash claim urgent offer txt call now reply stop mobile award "
        "guaranteed bonus cost per min voucher entry draw selected").split()
HAM = ("home later dinner tonight mum love sorry ok lunch meeting tomorrow class pick thanks "
       "see going sleep work film yeah haha").split()


def message(rng, spam):
    words = []
    for _ in range(rng.randint(8, 25)):
        r = rng.random()
        if r < 0.3:
            words.append(rng.choice(SPAM if spam else HAM))
        elif r < 0.35:
            words.append(rng.choice(HAM if spam else SPAM))
        else:
            words.append(rng.choice(COMMON))
    text = " ".join(words)
    if rng.random() < 0.3:
        text = text.capitalize() + rng.choice(["!", "!!", ".", "?", " :)"])
    if spam and rng.random() < 0.4:
        text += f" Call 0{rng.randint(7000, 7999)}{rng.randint(100000, 999999)}"
    return text


def make(seed=2024):
    rng = random.Random(seed)
    rows = []
    for _ in range(1600):
        spam = rng.random() < 0.3
        rows.append(("spam" if spam else "ham", message(rng, spam)))
    return rows[:1200], rows[1200:]


if __name__ == "__main__":
    train, test = make()
    with open("/app/data/train.tsv", "w") as fh:
        fh.write("label\ttext\n")
        fh.writelines(f"{lab}\t{txt}\n" for lab, txt in train)
    with open("/app/data/test.tsv", "w") as fh:
        fh.write("id\ttext\n")
        fh.writelines(f"{i}\t{txt}\n" for i, (_, txt) in enumerate(test))
