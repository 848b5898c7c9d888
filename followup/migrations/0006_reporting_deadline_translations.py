"""Issue 15: the reporting deadlines carry their Italian texts, so an Italian page says "la rete
nazionale di farmacovigilanza", not "the national pharmacovigilance network". Each translation
is keyed by the English text it translates: a row whose English differs gets none (and shows
its English) rather than a translation of another text."""

from django.db import migrations, models

NETWORK = (
    "the national pharmacovigilance network (AIFA RNF, via the local pharmacovigilance officer)"
)
ITALIAN = {
    NETWORK: (
        "la rete nazionale di farmacovigilanza (RNF dell'AIFA, tramite il responsabile locale "
        "di farmacovigilanza)"
    ),
    # Version 1 (0002_reporting_deadlines_it)
    "DM 30 April 2015 (Ministero della Salute, GU n. 143 of 23-6-2015), art. 22: healthcare "
    "professionals report suspected adverse reactions to the national pharmacovigilance network "
    "within 2 days of becoming aware of them; within 36 hours for biological medicinal products "
    "(vaccines included).": (
        "DM 30 aprile 2015 (Ministero della Salute, GU n. 143 del 23-6-2015), art. 22: gli "
        "operatori sanitari segnalano le sospette reazioni avverse alla rete nazionale di "
        "farmacovigilanza entro 2 giorni da quando ne vengono a conoscenza; entro 36 ore per i "
        "medicinali di origine biologica (vaccini compresi)."
    ),
    "Verify against the current text: article number and details not yet confirmed by a person.": (
        "Verificare sul testo vigente: numero dell'articolo e dettagli non ancora confermati da "
        "una persona."
    ),
    "Report a suspected adverse reaction within 2 days of becoming aware of it.": (
        "Segnalare una sospetta reazione avversa entro 2 giorni da quando se ne viene a conoscenza."
    ),
    "Report a suspected adverse reaction to a biological medicinal product within 36 hours of "
    "becoming aware of it.": (
        "Segnalare una sospetta reazione avversa a un medicinale di origine biologica entro 36 "
        "ore da quando se ne viene a conoscenza."
    ),
    # Version 2 (0004_pv_every_suspected_reaction)
    "DM 30 April 2015 (GU n. 143 of 23-6-2015), art. 22, as the domain brief "
    '(regulatory-pathways.md) states it: "healthcare professionals report every suspected '
    "adverse drug reaction, serious or not, within 2 days of becoming aware of it (36 hours for "
    'biological medicines)"': (
        "DM 30 aprile 2015 (GU n. 143 del 23-6-2015), art. 22, come lo riporta il documento di "
        "dominio (regulatory-pathways.md): «gli operatori sanitari segnalano ogni sospetta "
        "reazione avversa da farmaco, grave o non grave, entro 2 giorni da quando ne vengono a "
        "conoscenza (36 ore per i medicinali biologici)»"
    ),
    "Verify against the current text: taken from the domain brief, not yet checked by a person "
    "against the decree in the Gazzetta Ufficiale.": (
        "Verificare sul testo vigente: tratto dal documento di dominio, non ancora confrontato da "
        "una persona con il decreto in Gazzetta Ufficiale."
    ),
    "Report every suspected adverse reaction, serious or not, within 2 days of becoming aware "
    "of it.": (
        "Segnalare ogni sospetta reazione avversa, grave o non grave, entro 2 giorni da quando se "
        "ne viene a conoscenza."
    ),
    "Report every suspected adverse reaction to a biological medicinal product, serious or not, "
    "within 36 hours of becoming aware of it.": (
        "Segnalare ogni sospetta reazione avversa a un medicinale di origine biologica, grave o "
        "non grave, entro 36 ore da quando se ne viene a conoscenza."
    ),
}
FIELDS = ("network", "text", "source", "unconfirmed_note")


def translations_fill(apps, schema_editor):
    ReportingDeadline = apps.get_model("followup", "ReportingDeadline")
    for deadline in ReportingDeadline.objects.all():
        italian = {f: ITALIAN[v] for f in FIELDS if (v := getattr(deadline, f)) in ITALIAN}
        if italian:
            deadline.translations = {"it": italian}
            deadline.save(update_fields=["translations"])


class Migration(migrations.Migration):
    dependencies = [("followup", "0005_renewal_report_rendered_document")]

    operations = [
        migrations.AddField(
            model_name="reportingdeadline",
            name="translations",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(translations_fill, migrations.RunPython.noop),
    ]
