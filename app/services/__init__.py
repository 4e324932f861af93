"""Plain-Python services that the CLI, the Streamlit pages and the tests all call."""
