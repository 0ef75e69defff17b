"""pipelines/train"""
