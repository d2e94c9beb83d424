"""SMS text handling: GSM-7 / UCS-2 encoding choice and segment counting."""
