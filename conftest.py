# Makes the project root importable for tests that run page files on their own.
