"""The reliability campaign's short version (bench/reliability/campaign.py,
docs/BENCHMARKS.md "Reliability"): 5 SIGKILLs of the daemon at random points
of a mixed create/migrate/delete/domain/certificate burst with three reference
agents and Pebble; after each restart fsck is clean and every acknowledged
write is there; at the end nothing is placed twice and no certificate is
ordered twice. The seed is printed, so a failure can be replayed."""
import os
import random
import sys
import unittest

import fctest

sys.path.insert(0, os.path.join(os.environ.get("FC_SOURCE_DIR", ""), "bench", "reliability"))


class SigkillCampaignTest(unittest.TestCase):
    def test_five_kills_lose_nothing(self):
        fctest.require_tools("pebble")
        import campaign  # noqa: E402 - needs FC_SOURCE_DIR
        seed = random.randrange(100000)
        s = campaign.Campaign(kills=5, budget_s=60, seed=seed).run()
        print("campaign:", s)
        self.assertEqual(s["findings"], [], f"seed {seed}")
        self.assertGreaterEqual(s["kills"], 3, f"too few kills within the budget: {s}")
        self.assertGreater(s["acknowledged"]["workspaces"], 0, s)


if __name__ == "__main__":
    fctest.main()
