"""The converter's one error (each ends the program with one line
"convert_weights: error: ...") and the one-line form of its messages."""


class ConvertError(Exception):
    pass


def one_line(message, max_chars=4096):
    """A message as one line: control characters (a newline in a tensor name
    or a dict key taken from the file) written as escapes, and at most
    max_chars characters."""
    out = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in message)
    return out if len(out) <= max_chars else out[:max_chars - 3] + "..."
