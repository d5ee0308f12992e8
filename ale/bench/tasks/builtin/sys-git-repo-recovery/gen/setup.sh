# Builds a damaged bare repository. P is a path prefix (empty in the image).
set -e
P=${P:-}
export GIT_AUTHOR_NAME=dev GIT_AUTHOR_EMAIL=dev@example.com GIT_COMMITTER_NAME=dev GIT_COMMITTER_EMAIL=dev@example.com
W=$(mktemp -d)
cd $W && git init -q -b main
c() { export GIT_AUTHOR_DATE="$1" GIT_COMMITTER_DATE="$1"; shift; git add -A; git commit -qm "$*"; }
printf 'Project\n' > README; mkdir docs; printf 'history: founded 2019\n' > docs/history.txt
c "2024-01-01T10:00:00+00:00" initial import
git rm -q docs/history.txt; mkdir src; printf 'print("v1")\n' > src/app.py
c "2024-01-02T10:00:00+00:00" move history out, add app
printf 'print("v1.1")\n' > src/app.py
c "2024-01-03T10:00:00+00:00" bump app
mkdir -p $P/srv/git
git clone -q --bare --no-local $W $P/srv/git/project.git
git clone -q --no-local $P/srv/git/project.git $P/root/project-backup
# keep the bare repository's objects loose
for pk in $P/srv/git/project.git/objects/pack/*.pack; do
  mv $pk $W/p.pack; rm -f ${pk%.pack}.idx ${pk%.pack}.rev
  git -C $P/srv/git/project.git unpack-objects -q < $W/p.pack; rm $W/p.pack
done
git checkout -q -b release
printf '2.0-rc1\n' > VERSION; c "2024-01-10T10:00:00+00:00" release candidate
printf '2.0\n' > VERSION; c "2024-01-12T10:00:00+00:00" release 2.0
git push -q $P/srv/git/project.git release
cd $P/srv/git/project.git
git update-ref -d refs/heads/release
printf 'ref: refs/heads/master\n' > HEAD
blob=$(git -C $W rev-parse main~2:docs/history.txt)
obj=objects/${blob:0:2}/${blob:2}
rm -f $obj; printf 'garbage\0\1\2' > $obj
rm -rf $W
