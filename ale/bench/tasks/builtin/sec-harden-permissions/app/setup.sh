#!/bin/bash
# Builds the badly-permissioned service tree (image build time only).
set -e
/usr/sbin/useradd -r -M -s /usr/sbin/nologin appsvc
mkdir -p /srv/app/config /srv/app/keys /srv/app/bin /srv/app/public/css /srv/app/logs /srv/app/uploads
printf 'DB_HOST=db.internal\nDB_USER=shop\nDB_PASSWORD=9f8e7d6c5b4a\n' > /srv/app/config/db.env
printf 'log_level = info\nworkers = 4\n' > /srv/app/config/app.ini
printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n' > /srv/app/keys/deploy_ed25519
printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO deploy@shop\n' > /srv/app/keys/deploy_ed25519.pub
printf '#!/bin/bash\necho starting shop\n' > /srv/app/bin/start.sh
printf '#!/bin/bash\necho backing up\n' > /srv/app/bin/backup.sh
printf '<h1>Shop</h1>\n' > /srv/app/public/index.html
printf 'body{margin:0}\n' > /srv/app/public/css/site.css
printf 'started\n' > /srv/app/logs/app.log
chown -R appsvc:appsvc /srv/app
chown root:root /srv/app/config/db.env /srv/app/logs
chmod 666 /srv/app/config/db.env
chmod 644 /srv/app/config/app.ini /srv/app/keys/deploy_ed25519.pub
chmod 644 /srv/app/keys/deploy_ed25519
chmod 777 /srv/app/keys /srv/app/uploads /srv/app/logs
chmod 755 /srv/app/config /srv/app/bin /srv/app/public /srv/app/public/css
chmod 4755 /srv/app/bin/start.sh
chmod 2775 /srv/app/bin/backup.sh
chmod 666 /srv/app/public/index.html
chmod 640 /srv/app/public/css/site.css
chmod 666 /srv/app/logs/app.log
