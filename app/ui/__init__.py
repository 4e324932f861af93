"""Streamlit interface: pages only render and collect input; services do the work."""
