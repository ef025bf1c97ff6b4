"""Working as a team on one workspace: presence, leases, the change log and the collision guard."""
