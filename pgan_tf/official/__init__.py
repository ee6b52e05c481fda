"""Reading the original implementation's network pickles (safely) and converting them to our
networks."""
