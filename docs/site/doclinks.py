"""A Sphinx extension: nbdev's doc links. Inline code that names a public object of `sts_study` (`run_recipe`,
`card.read_card`, `sts_study.recipe.CARDS`, `Card.render`, with or without `()`) becomes a link to its API entry, on
every page, as nbdev links backticked names to their documentation."""
import re
from docutils import nodes
from sphinx import addnodes

NAME = re.compile(r'^[A-Za-z_][\w.]*$')
SKIP = (nodes.reference, nodes.title, nodes.literal_block, addnodes.desc_signature, addnodes.pending_xref)

def _targets(env) -> dict:
    "{name: (docname, anchor)} for every object of the Python domain under sts_study: full, module-relative and (when unique) bare names."
    objs = {k: v for k, v in env.get_domain('py').objects.items() if k.startswith('sts_study.') and not v.aliased}
    out, short = {}, {}
    for full, o in objs.items():
        tgt = (o.docname, o.node_id)
        out[full] = tgt
        rel = full[len('sts_study.'):]
        if o.objtype != 'module': out.setdefault(rel, tgt)
        parts = rel.split('.')
        if len(parts) >= 2 and o.objtype != 'module':
            short.setdefault('.'.join(parts[1:]), set()).add(tgt)  # `run_recipe`, `Card.render`
    out.update({k: next(iter(v)) for k, v in short.items() if len(v) == 1 and k not in out})
    return out

def link_code(app, doctree, docname):
    "Wrap each inline code naming an API entry in a link to it."
    targets = getattr(app.env, '_sts_doclinks', None)
    if targets is None: targets = app.env._sts_doclinks = _targets(app.env)
    for lit in list(doctree.findall(nodes.literal)):
        text = lit.astext().strip()
        if text.endswith('()'): text = text[:-2]
        if not NAME.match(text) or text not in targets: continue
        p, skip = lit.parent, False
        while p is not None:
            if isinstance(p, SKIP): skip = True; break
            p = p.parent
        if skip: continue
        to, anchor = targets[text]
        uri = ('' if to == docname else app.builder.get_relative_uri(docname, to)) + '#' + anchor
        ref = nodes.reference('', '', internal=True, refuri=uri, reftitle=f'API: {text}')
        lit.replace_self(ref)
        ref.append(lit)

def setup(app):
    app.connect('doctree-resolved', link_code)
    return {'version': '1', 'parallel_read_safe': True, 'parallel_write_safe': True}
