"""The official `openai` Python package against `latte serve`: an image with response_format b64_json,
then a streamed chat completion. Usage: openai_client_check.py BASE_URL API_KEY. Prints OK on success;
any failure raises (non-zero exit)."""
import base64
import sys

from openai import OpenAI

base_url, api_key = sys.argv[1], sys.argv[2]
client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=120)

result = client.images.generate(prompt="a red sneaker", n=1, size="32x32", response_format="b64_json")
png = base64.b64decode(result.data[0].b64_json)
assert png[:8] == b"\x89PNG\r\n\x1a\n", png[:8]
width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
assert (width, height) == (32, 32), (width, height)

stream = client.chat.completions.create(
    model="latte", messages=[{"role": "user", "content": "Say hi."}], max_tokens=5, temperature=0, stream=True)
chunks = list(stream)
assert chunks, "no chunks"
assert all(c.object == "chat.completion.chunk" for c in chunks)
finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
assert len(finish) == 1, finish

try:
    client.images.generate(prompt="a hat", size="1024x1024")
    raise AssertionError("an unsupported size was accepted")
except Exception as e:  # openai.BadRequestError
    assert getattr(e, "status_code", None) == 400, e
print("OK")
