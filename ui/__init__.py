"""The Streamlit app: page layout only; everything it shows comes from `assistant/`."""
