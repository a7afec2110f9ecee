#!/usr/bin/env python3
"""A dataset zip cut to N of its images (seeded choice), in the product's format.

    benches/pretrained/subset_zip.py IN.zip OUT.zip N [--seed S]

Keeps `index.csv`'s header and N of its rows, chosen at random with the seed, and the images
they name (bytes copied as they are). Used by benches/pretrained/compare.sh to build the small
training sets a pretrained start is for.
"""
import argparse
import csv
import io
import posixpath
import random
import zipfile


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source")
    parser.add_argument("out")
    parser.add_argument("n", type=int)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with zipfile.ZipFile(args.source) as z:
        index = next(n for n in z.namelist() if posixpath.basename(n) == "index.csv")
        folder = posixpath.dirname(index)
        rows = list(csv.reader(io.StringIO(z.read(index).decode("utf-8-sig"))))
        header, rows = rows[0], [r for r in rows[1:] if r]
        random.Random(args.seed).shuffle(rows)
        rows = rows[: args.n]
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows([header] + rows)
        with zipfile.ZipFile(args.out, "w", zipfile.ZIP_DEFLATED) as out:
            out.writestr("index.csv", text.getvalue())
            for row in rows:
                name = posixpath.join(folder, row[0]) if folder else row[0]
                out.writestr(row[0], z.read(name), zipfile.ZIP_STORED)
    print(f"{args.out}: {len(rows)} images")


if __name__ == "__main__":
    main()
