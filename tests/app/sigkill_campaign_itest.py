"""The reliability campaign's short version (bench/reliability/campaign.py,
docs/BENCHMARKS.md "Reliability"): 4 SIGKILLs of the daemon at random points
of a mixed create/migrate/delete/domain/certificate burst with three reference
agents (half the cycles with one agent stopped, so its confirmations lag) and
Pebble. After each restart fsck is clean and every acknowledged write is there
(a delete or migration whose answer the kill cut off may go either way); at the
end nothing is placed twice, each region's allocation equals its workspaces,
every certificate is issued (or failed with a cause) and none is ordered twice.
The seed is printed (FC_CAMPAIGN_SEED replays the mix; the kill points are
wall-clock)."""
import os
import random
import sys
import unittest

import fctest

sys.path.insert(0, os.path.join(os.environ.get("FC_SOURCE_DIR", ""), "bench", "reliability"))


class SigkillCampaignTest(unittest.TestCase):
    def test_four_kills_lose_nothing(self):
        fctest.require_tools("pebble")
        import campaign  # noqa: E402 - needs FC_SOURCE_DIR
        seed = int(os.environ.get("FC_CAMPAIGN_SEED") or random.randrange(100000))
        print(f"campaign seed {seed}", flush=True)
        s = campaign.Campaign(kills=4, budget_s=45, seed=seed).run()
        print("campaign:", s, flush=True)
        self.assertEqual(s["findings"], [], f"seed {seed}")
        self.assertGreaterEqual(s["kills"], 3, f"too few kills within the budget: {s}")
        self.assertGreaterEqual(s["acknowledged"]["workspaces"], 10, f"too little acknowledged work: {s}")


if __name__ == "__main__":
    fctest.main()
