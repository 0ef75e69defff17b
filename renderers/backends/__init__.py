"""renderers/backends"""
