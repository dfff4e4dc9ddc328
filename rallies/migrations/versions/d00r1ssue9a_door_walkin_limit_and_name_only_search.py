"""door (issue 9): rally.walkin_limit; rsvp.search_name rebuilt from the name only

Door search matched emails and phones through search_name; it now holds the folded name
only, so existing rows are rebuilt here. walkin_limit caps the walk-in people a rally's
doors may admit (NULL: walk-ins fill only free places).

Revision ID: d00r1ssue9a
Revises: a1e9c0de7f14
Create Date: 2026-12-05 10:30:00.000000

"""
import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd00r1ssue9a'
down_revision = 'a1e9c0de7f14'
branch_labels = None
depends_on = None

rsvp = sa.table('rsvp', sa.column('id', sa.Integer), sa.column('name', sa.String),
                sa.column('search_name', sa.String))


def _fold(text):
    # A frozen copy of rsvp.names.fold: migrations never import app code that may change.
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()[:400]


def upgrade():
    with op.batch_alter_table('rally', schema=None) as batch_op:
        batch_op.add_column(sa.Column('walkin_limit', sa.Integer(), nullable=True))

    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.select(rsvp.c.id, rsvp.c.name).where(rsvp.c.id > last)
                            .order_by(rsvp.c.id).limit(5000)).all()
        if not rows:
            break
        conn.execute(rsvp.update().where(rsvp.c.id == sa.bindparam('rid')).values(search_name=sa.bindparam('folded')),
                     [{'rid': r.id, 'folded': _fold(r.name)} for r in rows])
        last = rows[-1].id


def downgrade():
    # search_name keeps the name-only text: the contact details it held are not restored.
    with op.batch_alter_table('rally', schema=None) as batch_op:
        batch_op.drop_column('walkin_limit')
