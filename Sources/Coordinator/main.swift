print("winclip-coord: the cluster coordinator arrives with the cluster issue")
