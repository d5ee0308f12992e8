#!/bin/bash
set -e
rm -f /etc/ssh/sshd_config.d/10-legacy.conf /etc/ssh/sshd_config.d/50-cloud-init.conf
cat > /etc/ssh/sshd_config <<'CFG'
# This is the sshd server system-wide configuration file.  See sshd_config(5).

Include /etc/ssh/sshd_config.d/*.conf

Port 2222
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
MaxAuthTries 3
X11Forwarding no
AllowGroups sshusers
UsePAM yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server

# internal network may still use passwords (Match blocks must come last)
Match Address 10.0.0.0/8
    PasswordAuthentication yes
CFG
chown -R alice:alice /home/alice/.ssh
chmod 0700 /home/alice/.ssh
chmod 0600 /home/alice/.ssh/authorized_keys
