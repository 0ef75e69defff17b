"""pipelines/render"""
