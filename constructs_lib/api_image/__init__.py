"""The API function's container image: built in the account by EC2 Image Builder."""
