"""The parcel editor: change sets (biến động), geometry tools, the editing session."""
