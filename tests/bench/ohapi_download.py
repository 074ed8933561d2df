"""Runs ohapi's `ohproj-download` against a sandbox.

ohapi (open-humans-api 0.2.x) reads the project's member list from a URL hard-coded to
www.openhumans.org, while its other calls honour OHAPI_OH_BASE_URL. This wrapper only
rewrites that one URL, then calls ohapi's own download command unchanged.

usage: python ohapi_download.py BASE_URL DEST   (master token in DATALINKS_OH_MASTER_TOKEN)
"""
import os
import sys

base_url, dest = sys.argv[1].rstrip("/") + "/", sys.argv[2]
os.environ["OHAPI_OH_BASE_URL"] = base_url

from ohapi import command_line, projects  # noqa: E402  (after the environment is set)

hard_coded = "https://www.openhumans.org/"
fetch_all_pages = projects.get_all_results
projects.get_all_results = lambda url: fetch_all_pages(url.replace(hard_coded, base_url))

command_line.download(
    directory=dest,
    master_token=os.environ["DATALINKS_OH_MASTER_TOKEN"],
    max_size="2g",
)
