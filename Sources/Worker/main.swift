print("winclip-worker: the cluster worker arrives with the cluster issue")
