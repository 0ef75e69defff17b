"""pipelines/bench"""
