"""Writes a curl config that downloads every member file of a sandbox project once.

It reads the members list and each member's exchange-member pages (fresh one-hour download
keys), so curl gets the same URLs the other clients resolve.

usage: python file_urls.py BASE_URL DEST > curl.cfg   (master token in DATALINKS_OH_MASTER_TOKEN)
"""
import json
import os
import sys
import urllib.parse
import urllib.request

base_url, dest = sys.argv[1].rstrip("/"), sys.argv[2]
token = os.environ["DATALINKS_OH_MASTER_TOKEN"]


def pages(url):
    while url:
        with urllib.request.urlopen(url) as response:
            page = json.load(response)
        yield page
        url = page.get("next")


members_url = f"{base_url}/api/direct-sharing/project/members/?access_token={urllib.parse.quote(token)}"
for page in pages(members_url):
    for member in page["results"]:
        member_id = member["project_member_id"]
        exchange = f"{base_url}/api/direct-sharing/project/exchange-member/?project_member_id={member_id}&access_token={urllib.parse.quote(token)}"
        for member_page in pages(exchange):
            for datafile in member_page["data"]:
                target = os.path.join(dest, member_id, datafile["source"], f'{datafile["id"]}.{datafile["basename"]}')
                print(f'url = "{datafile["download_url"]}"')
                print(f'output = "{target}"')
