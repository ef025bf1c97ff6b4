"""The UI-free session that the console and the command line call: one workspace's verbs and reads."""
