"""Orders in: download, import (allocate / release / ship), re-link, and the order screens."""
