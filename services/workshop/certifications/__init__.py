"""The workshop's copy of network's training and certification: which labour operations need
a certification, and which people hold one until when."""
