#!/bin/bash
# Creates the demo repository in $1 with fixed identities and dates (same hashes every time).
set -e
R=$1
mkdir -p "$R"
cd "$R"
export GIT_AUTHOR_NAME="Dana Dev" GIT_AUTHOR_EMAIL="dana@example.com"
export GIT_COMMITTER_NAME="Dana Dev" GIT_COMMITTER_EMAIL="dana@example.com"
n=0
commit() {
  n=$((n + 1))
  export GIT_AUTHOR_DATE="2024-03-0$((n < 10 ? n : 9))T10:00:00+00:00" GIT_COMMITTER_DATE="2024-03-0$((n < 10 ? n : 9))T10:00:00+00:00"
  git add -A && git commit -q -m "$1"
}
git init -q -b main .
git config user.name "Dana Dev"; git config user.email "dana@example.com"
printf '# photo-share\n\nUpload photos to S3.\n' > README.md
printf 'def main():\n    print("photo-share")\n' > app.py
commit "Initial commit"
mkdir -p config
printf 'DEBUG = False\nBUCKET = "photo-share-prod"\n' > config/settings.py
commit "Add settings"
cat >> config/settings.py <<'PY'
AWS_ACCESS_KEY_ID = "AKIAZ7Q4LEAKED9X2M3K"
AWS_SECRET_ACCESS_KEY = "q8Vt3nR1sLw0Yp6Zb2Hc5Jm9Kd4Fx7Ga1Ne3Uo"
PY
printf 'from config import settings\n\n\ndef upload(path):\n    return (settings.BUCKET, path)\n' > uploader.py
commit "Add S3 uploader"
printf 'from config import settings\n\n\ndef upload(path, public=False):\n    return (settings.BUCKET, path, public)\n' > uploader.py
commit "Uploader: public flag"
git tag -a v1.0 -m "Release 1.0"
git branch feature/cli
printf 'import os\n\nDEBUG = False\nBUCKET = "photo-share-prod"\nAWS_ACCESS_KEY_ID = os.environ["AWS_ACCESS_KEY_ID"]\nAWS_SECRET_ACCESS_KEY = os.environ["AWS_SECRET_ACCESS_KEY"]\n' > config/settings.py
commit "Read AWS credentials from the environment"
printf '\nCredentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).\n' >> README.md
commit "Document configuration"
git checkout -q feature/cli
printf 'import sys\nfrom uploader import upload\n\nif __name__ == "__main__":\n    print(upload(sys.argv[1]))\n' > cli.py
commit "Add command-line interface"
git checkout -q main
