"""Training data: synthetic people, Penn Action, your own videos, and the pair samples they yield.

Every dataset yields the same pair sample (see `ilat_video.data.pairs`). Import the datasets from
their modules (`ilat_video.data.synth.SyntheticPairs`, `...penn_action.PennActionPairs`,
`...own_videos.VideoFolderPairs`); this package imports nothing heavy by itself.
"""
