"""Answer generators: turn a question and retrieved paragraphs into answer text."""
