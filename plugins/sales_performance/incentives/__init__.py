"""Incentive plans and bonus statements: commission tiers, caps, gates, team awards, SPIFs,
honours and clawbacks, each producing explained statement lines for one person."""
