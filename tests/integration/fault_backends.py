"""An SMS backend for a worker in another process: the "provider" (a file per text in the
directory PORTAL_TEST_PROVIDER_DIR) accepts the text, then the worker process dies on the spot."""

import os
import uuid
from pathlib import Path
from typing import Any

from sms.backends.base import BaseSmsBackend


class TextThenDeathBackend(BaseSmsBackend):
    def send_messages(self, messages: list[Any]) -> int:
        folder = Path(os.environ["PORTAL_TEST_PROVIDER_DIR"])
        for message in messages:
            (folder / f"{uuid.uuid4().hex}.txt").write_text(f"{message.recipients}\n{message.body}")
        os._exit(1)  # killed between the provider's acceptance and the mark
