"""No configure(): master gets the raw words, numbers converted."""


def master(*words: object) -> None:
    print("ARGS " + " ".join(f"{type(w).__name__}:{w}" for w in words), flush=True)
