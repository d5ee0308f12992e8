import re
import unicodedata


def slugify(text, max_length=None, separator="-"):
    """Turn arbitrary text into a URL slug.

    - accents are folded to ASCII ("Crème" -> "creme"), other non-ASCII characters are dropped;
    - the result is lowercase; every run of characters other than a-z and 0-9 becomes ONE separator;
    - no leading or trailing separator;
    - with max_length, the slug is cut to at most max_length characters without splitting a word:
      it keeps the longest run of whole words that fits (never ending with a separator); only if
      the first word alone is longer than max_length is that word cut at max_length.
    """
    text = unicodedata.normalize("NFKD", text)
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]", separator, text)
    slug = slug.lstrip(separator)
    if max_length is not None and len(slug) > max_length:
        cut = slug[:max_length]
        if separator in cut:
            cut = cut[: cut.rindex(separator) + 1]
        slug = cut
    return slug
