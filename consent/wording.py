"""The consent form's wording: English source text, one gettext system for every language.

The Italian and French texts are the ``msgctxt "consent"`` entries of ``locale/it`` and
``locale/fr`` (``django.po``), the same catalogues as the interface; English is the gettext source
below. Each value is a ``str.format`` template; a translation keeps exactly the placeholders of its
English source (``tests/consent/test_wording.py`` checks every catalogue). Numbers never appear in
the prose except label facts (8 hours for a missed dose, 30 days of contraception, 1 week without
breastfeeding, 38 °C fever, 6 to 8 and 24 hours for tumour lysis blood tests), legal references,
GDPR articles and section numbers; study figures, doses and the hospital's settings come only from
the placeholders. French translations use a no-break space (U+00A0) before ; : ? ! % and inside
« », as French typography requires.

``template_version(language)`` is a hash of everything a form in that language can print (these
texts as translated, and the PDF template): editing a sentence in any language changes that
language's version, which supersedes the unsigned forms printed with the old wording.
"""

import hashlib
import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from django.template.loader import get_template
from django.utils import translation
from django.utils.translation import pgettext_lazy

LANGUAGES = {"it": "Italiano", "en": "English", "fr": "Français"}
CONTEXT = "consent"
TEMPLATE = "consent/consent.html"


TEXTS_SOURCE = {
    "title": pgettext_lazy("consent", "Patient information and consent form"),
    "subtitle": pgettext_lazy("consent", "Off-label treatment with {drug}"),
    "document_label": pgettext_lazy("consent", "Document"),
    "version_label": pgettext_lazy("consent", "Version"),
    "language_label": pgettext_lazy("consent", "Language"),
    "page_label": pgettext_lazy("consent", "Page"),
    "of_label": pgettext_lazy("consent", "of"),
    "patient_label": pgettext_lazy("consent", "Patient"),
    "born_label": pgettext_lazy("consent", "Date of birth"),
    "hospital_label": pgettext_lazy("consent", "Hospital"),
    "physician_label": pgettext_lazy("consent", "Treating physician"),
    "date_label": pgettext_lazy("consent", "Date"),
    "h_medicine": pgettext_lazy("consent", "1. What is this medicine?"),
    "h_why": pgettext_lazy("consent", "2. Why is it proposed to you?"),
    "h_regimen": pgettext_lazy("consent", "3. How is the treatment given?"),
    "h_monitoring": pgettext_lazy("consent", "4. Tests and monitoring"),
    "h_benefits": pgettext_lazy("consent", "5. What benefit can you expect?"),
    "h_risks": pgettext_lazy("consent", "6. Risks and side effects"),
    "h_alternatives": pgettext_lazy("consent", "7. What are the alternatives?"),
    "h_pathway": pgettext_lazy("consent", "8. The rules that apply to this use"),
    "h_rights": pgettext_lazy("consent", "9. Your rights"),
    "h_data": pgettext_lazy("consent", "10. How your personal data are protected"),
    "h_contacts": pgettext_lazy("consent", "11. Who to contact"),
    "h_consent": pgettext_lazy("consent", "12. Consent declaration"),
    "h_signatures": pgettext_lazy("consent", "13. Signatures and dates"),
    "medicine_what": pgettext_lazy(
        "consent",
        "{drug} is a medicine taken by mouth as tablets. It blocks BCL-2, a protein that helps "
        "leukaemia cells survive. When BCL-2 is blocked, leukaemia cells can die.",
    ),
    "medicine_offlabel": pgettext_lazy(
        "consent",
        "{drug} is approved (authorised) by the medicines authorities for other uses: chronic "
        "lymphocytic leukaemia (another type of blood cancer) and, in adults who cannot receive "
        "intensive chemotherapy, acute myeloid leukaemia that has just been diagnosed. It is "
        "not approved for acute myeloid leukaemia that has come back (relapsed) or has not "
        "responded to treatment (refractory) ({indication}). Using a medicine outside its "
        "approval is called off-label use. It is legal when your doctor judges that it is the "
        "best option for you, you agree, and the rules described below are followed.",
    ),
    "why_intro": pgettext_lazy("consent", "Your doctor proposes this treatment for these reasons:"),
    "regimen_text": pgettext_lazy(
        "consent",
        "{drug} is taken by mouth once a day, with food and water, at about the same time each "
        "day, together with {partner}. The planned daily dose is {dose_mg} mg. Treatment is "
        "given in cycles of {cycle_days} days; {cycles} cycles are planned.",
    ),
    "rampup_intro": pgettext_lazy(
        "consent",
        "To lower the risk of tumour lysis (see below), the dose is increased step by step "
        "during the first days:",
    ),
    "rampup_day": pgettext_lazy("consent", "Day {day}: {dose_mg} mg"),
    "missed_dose": pgettext_lazy(
        "consent",
        "If you forget a dose and no more than 8 hours have passed since your usual time, take "
        "it as soon as you remember. If more than 8 hours have passed, skip that dose and take "
        "the next one at the usual time. Never take two doses to make up for a missed one. If "
        "you vomit after taking a dose, do not take an extra dose: take the next dose at the "
        "usual time. In both cases, tell the team.",
    ),
    "food_interactions": pgettext_lazy(
        "consent",
        "While you take {drug}, do not eat grapefruit, Seville oranges (bitter oranges, often "
        "used in marmalade) or starfruit, and do not drink their juice. Tell the team about "
        "every other medicine you take or start, including medicines bought without a "
        "prescription, vitamins and herbal products such as St John's wort. Some medicines, "
        "including antifungals (medicines against fungal infections) of the azole family, can "
        "change the amount of {drug} in your blood. Your doctor may then need to change the "
        "dose.",
    ),
    "monitoring_text": pgettext_lazy(
        "consent",
        "Tumour lysis syndrome: when many leukaemia cells die quickly, they release substances "
        "(such as potassium, phosphate and uric acid) into the blood. These substances can harm "
        "the kidneys and upset the rhythm of the heart. The risk is highest in the first days, "
        "while the dose is being increased. To prevent it, before the first dose you will drink "
        "plenty of fluids (or receive them through a drip), and you will receive a medicine "
        "that lowers uric acid. If your white blood cell count is high, you may first receive "
        "treatment to lower it. Blood tests are taken before the first dose and before each new "
        "dose while the dose is being increased, 6 to 8 hours after each new dose, and 24 hours "
        "after reaching the full dose. You may need to stay in hospital during these days. "
        "Throughout treatment you will have regular blood counts (tests that count your blood "
        "cells); depending on the results, your doctor may adjust or pause the treatment.",
    ),
    "benefits_numbers": pgettext_lazy(
        "consent",
        "In the {n_studies} published studies your doctor relied on that report results for "
        "patients like you (with leukaemia that came back or did not respond, treated with "
        "venetoclax; {n_patients} patients in all), between {orr_low}% and {orr_high}% of these "
        "patients had their leukaemia respond to treatment.",
    ),
    "benefits_single": pgettext_lazy(
        "consent",
        # xgettext:no-python-format
        "In the published study your doctor relied on that reports results for patients like "
        "you ({n_patients} patients with leukaemia that came back or did not respond, treated "
        "with venetoclax), {orr_low}% of these patients had their leukaemia respond to "
        "treatment.",
    ),
    "benefits_no_numbers": pgettext_lazy(
        "consent",
        "The published studies your doctor relied on do not give one overall response figure "
        "that applies to you.",
    ),
    "benefits_uncertainty": pgettext_lazy(
        "consent",
        "Please read these results with care. Most of these studies looked back at patients who "
        "had already been treated (retrospective studies). Many were small, and they differ "
        "from one another in the patients included and the medicines combined. Their results "
        "may not apply to you. A response means that tests showed far fewer leukaemia cells "
        "after treatment; it does not mean a cure. A response may not last, and the leukaemia "
        "may come back. No one can guarantee that you will benefit. The aim of this treatment "
        "is to control the leukaemia and, for some patients, to make a stem cell transplant "
        "possible.",
    ),
    "benefits_design": pgettext_lazy(
        "consent", "The strongest type of study among them is: {design}."
    ),
    "risks_intro": pgettext_lazy(
        "consent",
        "Below are the most important side effects (unwanted effects) of this treatment. Many "
        "of them come from the effect of the treatment on the bone marrow (where blood cells "
        "are made). Your team will watch for them closely, with regular visits and blood tests.",
    ),
    # Translators: xgettext:no-python-format
    "risk_frequency": pgettext_lazy("consent", "In {study}, {event}: {percent}% of patients."),
    "risks_report": pgettext_lazy(
        "consent",
        "Call the team immediately, at any time of day or night, on {phone}, if you have: a "
        "fever of 38 °C or higher; chills or shivering; unusual bleeding or bruising; shortness "
        "of breath; little urine; severe diarrhoea. Do not wait for your next appointment.",
    ),
    "risks_other": pgettext_lazy(
        "consent",
        "Other side effects are possible, including some that are not yet known. Your team will "
        "tell you about any new information that could change your decision.",
    ),
    "alternatives_text": pgettext_lazy(
        "consent",
        "You do not have to receive this treatment. Other options may include: taking part in a "
        "clinical trial (a research study of new treatments), if one is available for you; "
        "other treatments, such as chemotherapy or other targeted medicines (medicines that act "
        "on a specific change in the leukaemia cells), when they suit your type of leukaemia; "
        "an allogeneic stem cell transplant (receiving blood-forming cells from a donor), if "
        "this is possible for you; supportive care only (transfusions, antibiotics and care for "
        "comfort and symptoms, without treatment aimed at the leukaemia itself). Your doctor "
        "can explain the benefits and risks of each option.",
    ),
    "rights_refuse": pgettext_lazy(
        "consent",
        "The decision is yours. You are free to say no to this treatment. If you say no, this "
        "will not change the care you receive: the team will continue to look after you and "
        "discuss other options with you.",
    ),
    "rights_withdraw": pgettext_lazy(
        "consent",
        "You may withdraw your consent at any time, without giving a reason and without losing "
        "any care. Tell your doctor, who will explain how to stop the treatment safely.",
    ),
    "rights_questions": pgettext_lazy(
        "consent",
        "You can ask questions at any time, before and during treatment. You can take time to "
        "decide and talk it over with your family or your family doctor. You may ask for a copy "
        "of this document.",
    ),
    "contacts_text": pgettext_lazy(
        "consent",
        "For questions or problems, contact {physician} at {hospital}. Day and night, call "
        "{phone}. In an emergency, go to the nearest emergency department and show this "
        "document.",
    ),
    "phone_24h_label": pgettext_lazy("consent", "24-hour telephone (day and night)"),
    "why_in_person": pgettext_lazy(
        "consent",
        "Your doctor will explain to you in person, in words you can understand, why this "
        "treatment is proposed for you, and will answer your questions before you sign.",
    ),
    "risk_graded": pgettext_lazy("consent", "grade {grade} {event}"),
    "study_population": pgettext_lazy("consent", "{study} ({n} patients)"),
    "risk_count": pgettext_lazy("consent", "In {study}, {event}: {n} patients."),
    "risks_reproduction": pgettext_lazy(
        "consent",
        "Pregnancy, breastfeeding and fertility. This treatment may harm an unborn baby. If you "
        "could become pregnant, use effective contraception during treatment and for 30 days "
        "after the last dose, and tell your doctor at once if a pregnancy occurs. Men should "
        "ask the team which contraception to use, because the other medicines in the treatment "
        "may also require it. Do not breastfeed during treatment and for 1 week after the last "
        "dose. {drug} may impair fertility in men (the ability to father a child): if you may "
        "wish to have children, talk to the team before starting.",
    ),
    "risks_vaccines": pgettext_lazy(
        "consent",
        "Vaccines. Do not receive live vaccines (vaccines made with a weakened living germ) "
        "before, during or after treatment, until your doctor tells you that your immune "
        "defences (B cells, a type of white blood cell) have recovered. Ask the team before any "
        "vaccination.",
    ),
    "cost_label": pgettext_lazy("consent", "Who pays for the medicine?"),
    "data_controller": pgettext_lazy(
        "consent",
        "The data controller (the body responsible for your data) is {controller}. You can "
        "contact its data protection officer (DPO) at: {dpo}.",
    ),
    "data_purpose": pgettext_lazy(
        "consent",
        "Your personal and health data are used to treat you and, where the rules described in "
        "section 8 require it, to monitor the safety and results of the treatment and to report "
        "suspected side effects. They are processed under {regulation}. The legal basis is the "
        "provision of health care (article 9(2)(h) GDPR) and, for safety monitoring, reasons of "
        "public interest in the area of public health (article 9(2)(i) GDPR). Only authorised "
        "people bound by professional secrecy can see them.",
    ),
    "data_recipients": pgettext_lazy(
        "consent",
        "Besides the team caring for you, your data may be shared with: {recipients}; and with "
        "the authorities responsible for the safety of medicines, when a suspected side effect "
        "is reported.",
    ),
    "data_recipients_care": pgettext_lazy(
        "consent",
        "Your data are shared only with the team caring for you and, when a suspected side "
        "effect is reported, with the authorities responsible for the safety of medicines.",
    ),
    "data_retention_years": pgettext_lazy(
        "consent",
        "Your medical records are kept for {years} years, as the hospital's records policy sets.",
    ),
    "data_retention_law": pgettext_lazy(
        "consent",
        "Your medical records are kept for as long as the law on medical records requires; the "
        "data protection officer can tell you for how long.",
    ),
    "data_rights": pgettext_lazy(
        "consent",
        "You have the right to access your data and to obtain their rectification, their "
        "erasure and the restriction of their processing, and to object to their processing "
        "(articles 15 to 18 and 21 GDPR), within the limits that the law sets for medical "
        "records. To exercise these rights, contact the data protection officer.",
    ),
    "data_authority": pgettext_lazy(
        "consent",
        "If you believe that your data are not processed lawfully, you may lodge a complaint "
        "with the supervisory authority: {authority}.",
    ),
    "consent_statements": pgettext_lazy(
        "consent",
        "I have read and understood this information, or it was read and explained to me.\nI "
        "had the chance to ask questions, and my questions were answered.\nI understand that "
        "the use of {drug} for my leukaemia is off-label.\nI understand the possible benefits, "
        "the risks and the other options.\nI know that I can withdraw my consent at any time, "
        "without giving a reason and without losing any care.\nI agree to be treated with "
        "{drug} as described in this document.",
    ),
    "sig_patient": pgettext_lazy("consent", "Patient"),
    "sig_representative": pgettext_lazy(
        "consent", "Legal representative (if the patient cannot sign)"
    ),
    "sig_physician": pgettext_lazy("consent", "Physician who gave the information"),
    "sig_witness": pgettext_lazy("consent", "Witness or interpreter (if present)"),
    "sig_name": pgettext_lazy("consent", "Name"),
    "sig_signature": pgettext_lazy("consent", "Signature"),
    "sig_date": pgettext_lazy("consent", "Date"),
    "sig_relationship": pgettext_lazy("consent", "Relationship to the patient"),
    "partner_azacitidine": pgettext_lazy(
        "consent", "azacitidine (an injection under the skin on days 1 to 7 of each cycle)"
    ),
    "partner_decitabine_5": pgettext_lazy(
        "consent", "decitabine (a drip into a vein on days 1 to 5 of each cycle)"
    ),
    "partner_decitabine_10": pgettext_lazy(
        "consent", "decitabine (a drip into a vein on days 1 to 10 of the first cycles)"
    ),
    "partner_ldac": pgettext_lazy(
        "consent", "low-dose cytarabine (an injection under the skin on days 1 to 10 of each cycle)"
    ),
    "partner_flag_ida": pgettext_lazy(
        "consent",
        "FLAG-Ida chemotherapy (fludarabine, cytarabine, idarubicin and G-CSF, in hospital)",
    ),
    "partner_dli": pgettext_lazy(
        "consent", "donor lymphocyte infusions (white blood cells from your transplant donor)"
    ),
    "partner_monotherapy": pgettext_lazy("consent", "no other leukaemia medicine"),
    "partner_other": pgettext_lazy("consent", "the other medicines your doctor describes"),
    "design_trial": pgettext_lazy("consent", "clinical trial (phase II or phase Ib/II)"),
    "design_retrospective": pgettext_lazy(
        "consent", "retrospective study (a look back at patients already treated)"
    ),
    "design_case_report": pgettext_lazy("consent", "case report (one or a few patients)"),
}


PATHWAY_TEXTS_SOURCE = {
    "it_law_648": pgettext_lazy(
        "consent",
        "Law 648/1996 (Italy). In Italy, a medicine can be used outside its authorisation when "
        "AIFA (the Italian Medicines Agency) has placed that use on a national list under Law "
        "648/1996. The use of {drug} for your type of leukaemia is on this list, under precise "
        "conditions that your doctor has checked. The national health service (SSN) pays for "
        "the medicine. As required, your doctor will enter your treatment in AIFA's monitoring "
        "registry, which collects data on how the treatment goes, its side effects and whether "
        "it is stopped.",
    ),
    "it_law_94_98": pgettext_lazy(
        "consent",
        "Law 94/1998 (Italy). Italian law allows a doctor to prescribe a medicine outside its "
        "authorisation for a single patient, when the doctor judges, on documented grounds, "
        "that no authorised medicine can usefully treat you, and the use is supported by "
        "published studies. Your doctor takes direct personal responsibility for this use. Your "
        "written consent is required. At {hospital}, the pharmacy and the drug committee may "
        "also review the request before treatment starts.",
    ),
    "it_aifa_5_fund": pgettext_lazy(
        "consent",
        "AIFA 5% Fund (Italy). The hospital asks AIFA (the Italian Medicines Agency) to pay for "
        "the medicine for you by name, from a national fund for serious and rare diseases (Law "
        "326/2003). The request describes your illness, why there is no suitable alternative "
        "and the planned treatment. Treatment with {drug} starts once AIFA agrees. If treatment "
        "continues, the hospital sends AIFA reports on its results and side effects.",
    ),
    "it_dm_7_9_2017": pgettext_lazy(
        "consent",
        "Compassionate use (Italy, Ministerial Decree of 7 September 2017). The company that "
        "makes {drug} supplies it free of charge for you. This is possible for serious diseases "
        "when there is no valid alternative. Before treatment starts, the ethics committee (an "
        "independent group that protects the rights and safety of patients) must approve it. "
        "Your doctor will collect data on the safety and results of your treatment.",
    ),
    "fr_off_label_no_cpc": pgettext_lazy(
        "consent",
        "Off-label prescription (France). {drug} is prescribed for you outside its marketing "
        "authorisation, under your doctor's responsibility, because no appropriate authorised "
        "alternative exists and your doctor judges it indispensable based on current scientific "
        "knowledge. The reasons are written in your medical record. This document informs you "
        "that this use is off-label.",
    ),
    "de_gkv_cost_coverage": pgettext_lazy(
        "consent",
        "Cost coverage (Germany). Before treatment starts, the hospital asks your health "
        "insurer to pay for this off-label use. Insurers pay for such use only for a serious "
        "disease, when no other suitable treatment exists and there is a reasonable chance of "
        "benefit. The insurer decides; your doctor will tell you the answer before starting.",
    ),
    "es_rd_1015_2009": pgettext_lazy(
        "consent",
        "Off-label use (Spain, Royal Decree 1015/2009). Your doctor records the reasons for "
        "this use in your clinical record, informs you about its possible benefits and risks, "
        "and must obtain your consent before treatment. The hospital may also apply its own "
        "rules for this type of use.",
    ),
    "gb_gmc_off_label": pgettext_lazy(
        "consent",
        "Off-label prescribing (United Kingdom). {drug} is prescribed following the guidance of "
        "the General Medical Council (GMC, the body that regulates doctors). Your doctor has "
        "judged that it meets your needs and that there is enough evidence about its safety and "
        "effects. Your doctor takes responsibility for this prescription, monitors you, keeps a "
        "clear record and must give you enough information to decide.",
    ),
    "us_pt_committee": pgettext_lazy(
        "consent",
        "Off-label use (United States). Doctors may legally prescribe an approved medicine for "
        "a use that is not on its label. At {hospital}, this use is reviewed under the policy "
        "of the pharmacy and therapeutics committee (a group of doctors and pharmacists that "
        "oversees how medicines are used in the hospital). Your insurer decides whether it "
        "pays; ask the team about costs.",
    ),
    "generic": pgettext_lazy(
        "consent",
        "This use of {drug} follows the laws and rules of your country and of {hospital}. Your "
        "doctor will explain which rules apply, who reviews the decision and how the cost of "
        "the medicine is covered.",
    ),
}


RISKS_SOURCE = {
    "death": (
        pgettext_lazy("consent", "Risk of death"),
        pgettext_lazy(
            "consent",
            "This treatment can cause serious side effects that lead to death, mainly severe "
            "infections while the number of white blood cells is very low. The leukaemia itself "
            "can also be fatal. The figures below are the deaths reported by the studies your "
            "doctor relied on; some of these deaths may have been due to the leukaemia rather "
            "than to the treatment.",
        ),
    ),
    "neutropenia": (
        pgettext_lazy("consent", "Neutropenia"),
        pgettext_lazy(
            "consent",
            "A low number of neutrophils, the white blood cells that fight infection. It is "
            "very common with this treatment and makes infections more likely. The team checks "
            "your blood counts regularly and may delay the next cycle or give you medicines to "
            "prevent infection.",
        ),
    ),
    "febrile_neutropenia": (
        pgettext_lazy("consent", "Febrile neutropenia"),
        pgettext_lazy(
            "consent",
            "Fever when neutrophils are very low. It can be the sign of a serious infection and "
            "needs urgent treatment, usually in hospital with antibiotics through a drip. If "
            "you have a fever, call the team at once.",
        ),
    ),
    "infections": (
        pgettext_lazy("consent", "Infections"),
        pgettext_lazy(
            "consent",
            "Infections of the lungs, the blood or other parts of the body are common and can "
            "be serious, sometimes life-threatening. You may notice fever, chills, a cough or "
            "burning when you pass urine. The team may give you medicines to prevent infections "
            "and will treat any infection quickly.",
        ),
    ),
    "thrombocytopenia": (
        pgettext_lazy("consent", "Thrombocytopenia"),
        pgettext_lazy(
            "consent",
            "A low number of platelets, the blood cells that help blood to clot. You may bruise "
            "easily or have bleeding from the nose or gums. The team checks your platelets and "
            "may give you platelet transfusions.",
        ),
    ),
    "anaemia": (
        pgettext_lazy("consent", "Anaemia"),
        pgettext_lazy(
            "consent",
            "A low number of red blood cells, which carry oxygen. You may feel tired, weak or "
            "short of breath. The team may give you transfusions of red blood cells.",
        ),
    ),
    "tumour_lysis": (
        pgettext_lazy("consent", "Tumour lysis syndrome"),
        pgettext_lazy(
            "consent",
            "Substances released when many leukaemia cells die quickly can harm the kidneys and "
            "the heart. It is most likely in the first days of treatment. The team prevents it "
            "with fluids, a medicine that lowers uric acid and frequent blood tests, and treats "
            "it quickly if it happens.",
        ),
    ),
    "heart_failure": (
        pgettext_lazy("consent", "Heart failure"),
        pgettext_lazy(
            "consent",
            "The heart may pump less well than it should. You may notice shortness of breath, "
            "swollen legs or ankles, or unusual tiredness. Tell the team at once if you notice "
            "these signs.",
        ),
    ),
    "bleeding": (
        pgettext_lazy("consent", "Bleeding"),
        pgettext_lazy(
            "consent",
            "When platelets are very low, bleeding can be serious, including inside the body. "
            "Call the team at once if you have bleeding that does not stop, blood in your urine "
            "or stools, or if you cough up blood.",
        ),
    ),
    "nausea_diarrhoea": (
        pgettext_lazy("consent", "Nausea, vomiting and diarrhoea"),
        pgettext_lazy(
            "consent",
            "Feeling sick, vomiting and loose stools are common. Tell the team: medicines can "
            "help. Drink plenty of fluids, and call at once if diarrhoea is severe.",
        ),
    ),
}

# How each kind of death figure a study reports is named (see consent.services._death_kind).
DEATH_EVENTS_SOURCE = {
    "mortality_days": pgettext_lazy("consent", "deaths within the first {days} days of treatment"),
    "treatment_related": pgettext_lazy("consent", "deaths attributed to the treatment"),
    "fatal_grade5": pgettext_lazy("consent", "fatal side effects (grade 5)"),
    "death_during_treatment": pgettext_lazy("consent", "deaths during treatment"),
    "death_other": pgettext_lazy("consent", "deaths reported"),
}

# Who pays, per pathway, in plain words (domain brief: regulatory-pathways.md).
# - it_law_94_98: not reimbursed by the SSN (L. 296/2006 c. 796 lett. z); the medicine is not
#   charged to the patient and is at the hospital's expense (issue 13's brief).
# - fr_off_label_no_cpc: the patient must be told the conditions of coverage by Assurance Maladie
#   (CSP L5121-12-1 III); "non remboursable" when the use is not covered (CSS L162-4).
#   UNCONFIRMED: that no CPC exists for venetoclax in R/R AML. The sentence therefore says
#   "may not reimburse" and leaves the answer to the physician, never "is reimbursed".
# - it_aifa_5_fund: AIFA decides the reimbursement; nothing is promised before its decision.
COSTS_SOURCE = {
    "it_law_648": pgettext_lazy(
        "consent",
        "The medicine is paid for by the Italian national health service (SSN); it is not "
        "charged to you.",
    ),
    "it_law_94_98": pgettext_lazy(
        "consent",
        "The medicine is not charged to you. Under Law 94/1998 the national health service "
        "(SSN) does not reimburse it: its cost is borne by the hospital ({hospital}).",
    ),
    "it_aifa_5_fund": pgettext_lazy(
        "consent",
        "If AIFA agrees to the request, the medicine is paid for from the AIFA fund; it is not "
        "charged to you. Treatment does not start before AIFA's decision.",
    ),
    "it_dm_7_9_2017": pgettext_lazy(
        "consent", "The company supplies the medicine free of charge; it is not charged to you."
    ),
    "fr_off_label_no_cpc": pgettext_lazy(
        "consent",
        "This use is outside the marketing authorisation and no compassionate prescription "
        "framework (CPC) covers it: Assurance Maladie (French national health insurance) may "
        "therefore not reimburse the medicine for this use, and in that case the prescription "
        "carries the mention « non remboursable » (not reimbursable; article L162-4 of the Code "
        "de la sécurité sociale). As article L5121-12-1 III of the Code de la santé publique "
        "requires, before you decide your doctor will tell you how Assurance Maladie covers the "
        "medicine and whether any cost would remain for you.",
    ),
    "de_gkv_cost_coverage": pgettext_lazy(
        "consent",
        "Before treatment starts, your statutory health insurer decides whether it pays for the "
        "medicine.",
    ),
    "us_pt_committee": pgettext_lazy(
        "consent",
        "Your insurer decides whether it pays; ask the team about the costs before you decide.",
    ),
    "generic": pgettext_lazy(
        "consent",
        "Before you decide, your doctor will tell you who pays for the medicine and whether any "
        "cost would remain for you.",
    ),
}

# Recipients beyond the care team that a pathway implies (GDPR art. 13(1)(e)); pharmacovigilance
# is added to every form. A pathway not listed shares with the care team only.
DATA_RECIPIENTS_SOURCE = {
    "it_law_648": pgettext_lazy(
        "consent", "AIFA (the Italian Medicines Agency), through its monitoring registry"
    ),
    "it_aifa_5_fund": pgettext_lazy(
        "consent",
        "AIFA (the Italian Medicines Agency), which receives the request and the reports on the "
        "treatment",
    ),
    "it_dm_7_9_2017": pgettext_lazy(
        "consent",
        "the company that supplies the medicine and the ethics committee, for the safety and "
        "results data that the compassionate-use programme requires (Ministerial Decree of 7 "
        "September 2017)",
    ),
    "de_gkv_cost_coverage": pgettext_lazy(
        "consent",
        "your health insurer and, if it consults it, the Medical Service (Medizinischer "
        "Dienst), for the cost-coverage application",
    ),
}

# The supervisory authority of the hospital's country (GDPR art. 13(2)(d)), by name.
SUPERVISORY_AUTHORITIES_SOURCE = {
    "IT": pgettext_lazy(
        "consent",
        "Garante per la protezione dei dati personali (the Italian data protection authority)",
    ),
    "FR": pgettext_lazy(
        "consent",
        "Commission nationale de l'informatique et des libertés (CNIL, the French data "
        "protection authority)",
    ),
    "ES": pgettext_lazy(
        "consent",
        "Agencia Española de Protección de Datos (AEPD, the Spanish data protection authority)",
    ),
    "DE": pgettext_lazy(
        "consent",
        "the Federal Commissioner for Data Protection and Freedom of Information (BfDI) or the "
        "data protection authority of your federal state (Land)",
    ),
    "GB": pgettext_lazy("consent", "the Information Commissioner's Office (ICO)"),
    "other": pgettext_lazy("consent", "the data protection authority of your country"),
}

# The data-protection law the form names: the EU GDPR, or in the United Kingdom the UK GDPR with
# the Data Protection Act 2018 (the same article numbers: 9(2)(h) and (i), 15-18 and 21).
DATA_PROTECTION_LAW_SOURCE = {
    "GB": pgettext_lazy(
        "consent",
        "the UK General Data Protection Regulation (UK GDPR) and the Data Protection Act 2018",
    ),
    "other": pgettext_lazy(
        "consent", "the General Data Protection Regulation (GDPR, Regulation (EU) 2016/679)"
    ),
}

# Printed only when an attached study reports them; the others are always explained.
CONDITIONAL_RISKS = frozenset({"heart_failure", "bleeding"})

# The indication's name in plain words, keyed by the English clinical wording the request stores
# (the texts explain it and give this name in brackets).
INDICATION_SOURCE = {
    "Relapsed/refractory acute myeloid leukaemia": pgettext_lazy(
        "consent", "relapsed or refractory acute myeloid leukaemia"
    ),
}

Text = str | tuple[str, ...]


def _resolved(value: Any) -> Text:
    return tuple(str(v) for v in value) if isinstance(value, tuple) else str(value)


class ByLanguage(Mapping[str, dict[str, Any]]):
    """``TEXTS["it"]["title"]``: the source texts translated into one of the form's languages."""

    def __init__(self, source: dict[str, Any]) -> None:
        self.source = source

    def __getitem__(self, language: str) -> dict[str, Any]:
        if language not in LANGUAGES:
            raise KeyError(language)
        with translation.override(language):
            return {key: _resolved(value) for key, value in self.source.items()}

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)


TEXTS = ByLanguage(TEXTS_SOURCE)
PATHWAY_TEXTS = ByLanguage(PATHWAY_TEXTS_SOURCE)
RISKS = ByLanguage(RISKS_SOURCE)
DEATH_EVENTS = ByLanguage(DEATH_EVENTS_SOURCE)
COSTS = ByLanguage(COSTS_SOURCE)
DATA_RECIPIENTS = ByLanguage(DATA_RECIPIENTS_SOURCE)
SUPERVISORY_AUTHORITIES = ByLanguage(SUPERVISORY_AUTHORITIES_SOURCE)
DATA_PROTECTION_LAW = ByLanguage(DATA_PROTECTION_LAW_SOURCE)
INDICATION_PLAIN = ByLanguage(INDICATION_SOURCE)
ALL = {
    "texts": TEXTS,
    "pathways": PATHWAY_TEXTS,
    "risks": RISKS,
    "death_events": DEATH_EVENTS,
    "costs": COSTS,
    "data_recipients": DATA_RECIPIENTS,
    "supervisory_authorities": SUPERVISORY_AUTHORITIES,
    "data_protection_law": DATA_PROTECTION_LAW,
    "indication": INDICATION_PLAIN,
}


def wording(language: str) -> dict[str, dict[str, Any]]:
    """Every text a form in ``language`` can print, translated."""
    return {name: texts[language] for name, texts in ALL.items()}


@lru_cache(maxsize=8)
def _template_source() -> str:
    template = get_template(TEMPLATE)
    return str(template.template.source)  # type: ignore[attr-defined]


def template_version(language: str) -> str:
    """``consent-<language>-<hash>``: a hash of the form's wording in ``language`` and of the PDF
    template, so a changed sentence gives a new version (the catalogues are loaded once per
    process, so the hash is stable while a process runs)."""
    payload = json.dumps(
        {"wording": wording(language), "template": _template_source()},
        sort_keys=True,
        ensure_ascii=False,
    )
    digest = hashlib.sha256(payload.encode()).hexdigest()
    return f"consent-{language}-{digest[:12]}"
