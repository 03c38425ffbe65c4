"""One falcon resource per endpoint or page: parse, call one function, render."""
