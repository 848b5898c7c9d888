"""Patient information and consent texts, in Italian, English and French (plain language).

Every value is a ``str.format`` template. Each language has exactly the same keys as English and
uses exactly the same placeholders. Numbers never appear in the prose itself except label facts
(8 hours for a missed dose, 30 days of contraception, 1 week without breastfeeding, 38 °C fever,
6 to 8 and 24 hours for tumour lysis blood tests), legal references, GDPR articles and section
numbers; study figures, doses and the hospital's settings come only from the placeholders.

French values use a no-break space (U+00A0) before ; : ? ! % and inside « », as French
typography requires.
"""

TEXTS_VERSION = "2026.3"
LANGUAGES = {"it": "Italiano", "en": "English", "fr": "Français"}

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Patient information and consent form",
        "subtitle": "Off-label treatment with {drug}",
        "document_label": "Document",
        "version_label": "Version",
        "language_label": "Language",
        "page_label": "Page",
        "of_label": "of",
        "patient_label": "Patient",
        "born_label": "Date of birth",
        "hospital_label": "Hospital",
        "physician_label": "Treating physician",
        "date_label": "Date",
        "h_medicine": "1. What is this medicine?",
        "h_why": "2. Why is it proposed to you?",
        "h_regimen": "3. How is the treatment given?",
        "h_monitoring": "4. Tests and monitoring",
        "h_benefits": "5. What benefit can you expect?",
        "h_risks": "6. Risks and side effects",
        "h_alternatives": "7. What are the alternatives?",
        "h_pathway": "8. The rules that apply to this use",
        "h_rights": "9. Your rights",
        "h_data": "10. How your personal data are protected",
        "h_contacts": "11. Who to contact",
        "h_consent": "12. Consent declaration",
        "h_signatures": "13. Signatures and dates",
        "medicine_what": (
            "{drug} is a medicine taken by mouth as tablets. It blocks BCL-2, a protein that helps "
            "leukaemia cells survive. When BCL-2 is blocked, leukaemia cells can die."
        ),
        "medicine_offlabel": (
            "{drug} is approved (authorised) by the medicines authorities for other uses: chronic "
            "lymphocytic leukaemia (another type of blood cancer) and, in adults who cannot "
            "receive intensive chemotherapy, acute myeloid leukaemia that has just been diagnosed. "
            "It is not approved for acute myeloid leukaemia that has come back (relapsed) or has "
            "not responded to treatment (refractory) ({indication}). Using a medicine outside its "
            "approval is called off-label use. It is legal when your doctor judges that it is the "
            "best option for you, you agree, and the rules described below are followed."
        ),
        "why_intro": "Your doctor proposes this treatment for these reasons:",
        "regimen_text": (
            "{drug} is taken by mouth once a day, with food and water, at about the same time each "
            "day, together with {partner}. The planned daily dose is {dose_mg} mg. Treatment is "
            "given in cycles of {cycle_days} days; {cycles} cycles are planned."
        ),
        "rampup_intro": (
            "To lower the risk of tumour lysis (see below), the dose is increased step by step "
            "during the first days:"
        ),
        "rampup_day": "Day {day}: {dose_mg} mg",
        "missed_dose": (
            "If you forget a dose and no more than 8 hours have passed since your usual time, take "
            "it as soon as you remember. If more than 8 hours have passed, skip that dose and take "
            "the next one at the usual time. Never take two doses to make up for a missed one. If "
            "you vomit after taking a dose, do not take an extra dose: take the next dose at the "
            "usual time. In both cases, tell the team."
        ),
        "food_interactions": (
            "While you take {drug}, do not eat grapefruit, Seville oranges (bitter oranges, often "
            "used in marmalade) or starfruit, and do not drink their juice. Tell the team about "
            "every other medicine you take or start, including medicines bought without a "
            "prescription, vitamins and herbal products such as St John's wort. Some medicines, "
            "including antifungals (medicines against fungal infections) of the azole family, can "
            "change the amount of {drug} in your blood. Your doctor may then need to change the "
            "dose."
        ),
        "monitoring_text": (
            "Tumour lysis syndrome: when many leukaemia cells die quickly, they release "
            "substances (such as potassium, phosphate and uric acid) into the blood. These "
            "substances can harm the kidneys and upset the rhythm of the heart. The risk is "
            "highest in the first days, while the dose is being increased. To prevent it, "
            "before the first dose you will drink plenty of fluids (or receive them through a "
            "drip), and you will receive a medicine that lowers uric acid. If your white blood "
            "cell count is high, you may first receive treatment to lower it. Blood tests are "
            "taken before the first dose and before each new dose while the dose is being "
            "increased, 6 to 8 hours after each new dose, and 24 hours after reaching the full "
            "dose. You may need to stay in hospital during these days. Throughout treatment you "
            "will have regular blood counts (tests that count your blood cells); depending on "
            "the results, your doctor may adjust or pause the treatment."
        ),
        "benefits_numbers": (
            "In the {n_studies} published studies your doctor relied on that report results for "
            "patients like you (with leukaemia that came back or did not respond, treated with "
            "venetoclax; {n_patients} patients in all), between {orr_low}% and {orr_high}% of "
            "these patients had their leukaemia respond to treatment."
        ),
        "benefits_single": (
            "In the published study your doctor relied on that reports results for patients like "
            "you ({n_patients} patients with leukaemia that came back or did not respond, treated "
            "with venetoclax), {orr_low}% of these patients had their leukaemia respond to "
            "treatment."
        ),
        "benefits_no_numbers": (
            "The published studies your doctor relied on do not give one overall response figure "
            "that applies to you."
        ),
        "benefits_uncertainty": (
            "Please read these results with care. Most of these studies looked back at patients "
            "who had already been treated (retrospective studies). Many were small, and they "
            "differ from one another in the patients included and the medicines combined. Their "
            "results may not apply to you. A response means that tests showed far fewer leukaemia "
            "cells after treatment; it does not mean a cure. A response may not last, and the "
            "leukaemia may come back. No one can guarantee that you will benefit. The aim of this "
            "treatment is to control the leukaemia and, for some patients, to make a stem cell "
            "transplant possible."
        ),
        "benefits_design": "The strongest type of study among them is: {design}.",
        "risks_intro": (
            "Below are the most important side effects (unwanted effects) of this treatment. Many "
            "of them come from the effect of the treatment on the bone marrow (where blood cells "
            "are made). Your team will watch for them closely, with regular visits and blood tests."
        ),
        "risk_frequency": "In {study}, {event}: {percent}% of patients.",
        "risks_report": (
            "Call the team immediately, at any time of day or night, on {phone}, if you have: a "
            "fever of 38 °C or higher; chills or shivering; unusual bleeding or bruising; "
            "shortness of breath; little urine; severe diarrhoea. Do not wait for your next "
            "appointment."
        ),
        "risks_other": (
            "Other side effects are possible, including some that are not yet known. Your team "
            "will tell you about any new information that could change your decision."
        ),
        "alternatives_text": (
            "You do not have to receive this treatment. Other options may include: taking part in "
            "a clinical trial (a research study of new treatments), if one is available for you; "
            "other treatments, such as chemotherapy or other targeted medicines (medicines that "
            "act on a specific change in the leukaemia cells), when they suit your type of "
            "leukaemia; an allogeneic stem cell transplant (receiving blood-forming cells from a "
            "donor), if this is possible for you; supportive care only (transfusions, antibiotics "
            "and care for comfort and symptoms, without treatment aimed at the leukaemia itself). "
            "Your doctor can explain the benefits and risks of each option."
        ),
        "rights_refuse": (
            "The decision is yours. You are free to say no to this treatment. If you say no, this "
            "will not change the care you receive: the team will continue to look after you and "
            "discuss other options with you."
        ),
        "rights_withdraw": (
            "You may withdraw your consent at any time, without giving a reason and without losing "
            "any care. Tell your doctor, who will explain how to stop the treatment safely."
        ),
        "rights_questions": (
            "You can ask questions at any time, before and during treatment. You can take time to "
            "decide and talk it over with your family or your family doctor. You may ask for a "
            "copy of this document."
        ),
        "contacts_text": (
            "For questions or problems, contact {physician} at {hospital}. Day and night, call "
            "{phone}. In an emergency, go to the nearest emergency department and show this "
            "document."
        ),
        "phone_24h_label": "24-hour telephone (day and night)",
        "why_in_person": (
            "Your doctor will explain to you in person, in words you can understand, why this "
            "treatment is proposed for you, and will answer your questions before you sign."
        ),
        "risk_graded": "grade {grade} {event}",
        "study_population": "{study} ({n} patients)",
        "risk_count": "In {study}, {event}: {n} patients.",
        "risks_reproduction": (
            "Pregnancy, breastfeeding and fertility. This treatment may harm an unborn baby. If "
            "you could become pregnant, use effective contraception during treatment and for 30 "
            "days after the last dose, and tell your doctor at once if a pregnancy occurs. Men "
            "should ask the team which contraception to use, because the other medicines in the "
            "treatment may also require it. Do not breastfeed during treatment and for 1 week "
            "after the last dose. {drug} may impair fertility in men (the ability to father a "
            "child): if you may wish to have children, talk to the team before starting."
        ),
        "risks_vaccines": (
            "Vaccines. Do not receive live vaccines (vaccines made with a weakened living germ) "
            "before, during or after treatment, until your doctor tells you that your immune "
            "defences (B cells, a type of white blood cell) have recovered. Ask the team before "
            "any vaccination."
        ),
        "cost_label": "Who pays for the medicine?",
        "data_controller": (
            "The data controller (the body responsible for your data) is {controller}. You can "
            "contact its data protection officer (DPO) at: {dpo}."
        ),
        "data_purpose": (
            "Your personal and health data are used to treat you and, where the rules described "
            "in section 8 require it, to monitor the safety and results of the treatment and to "
            "report suspected side effects. They are processed under {regulation}. The legal "
            "basis is the provision of health care (article 9(2)(h) GDPR) and, for safety "
            "monitoring, reasons of public interest in the area of public health (article "
            "9(2)(i) GDPR). Only authorised people bound by professional secrecy can see them."
        ),
        "data_recipients": (
            "Besides the team caring for you, your data may be shared with: {recipients}; and "
            "with the authorities responsible for the safety of medicines, when a suspected "
            "side effect is reported."
        ),
        "data_recipients_care": (
            "Your data are shared only with the team caring for you and, when a suspected side "
            "effect is reported, with the authorities responsible for the safety of medicines."
        ),
        "data_retention_years": (
            "Your medical records are kept for {years} years, as the hospital's records policy "
            "sets."
        ),
        "data_retention_law": (
            "Your medical records are kept for as long as the law on medical records requires; "
            "the data protection officer can tell you for how long."
        ),
        "data_rights": (
            "You have the right to access your data and to obtain their rectification, their "
            "erasure and the restriction of their processing, and to object to their processing "
            "(articles 15 to 18 and 21 GDPR), within the limits that the law sets for medical "
            "records. To exercise these rights, contact the data protection officer."
        ),
        "data_authority": (
            "If you believe that your data are not processed lawfully, you may lodge a "
            "complaint with the supervisory authority: {authority}."
        ),
        "consent_statements": (
            "I have read and understood this information, or it was read and explained to me.\n"
            "I had the chance to ask questions, and my questions were answered.\n"
            "I understand that the use of {drug} for my leukaemia is off-label.\n"
            "I understand the possible benefits, the risks and the other options.\n"
            "I know that I can withdraw my consent at any time, without giving a reason and "
            "without losing any care.\n"
            "I agree to be treated with {drug} as described in this document."
        ),
        "sig_patient": "Patient",
        "sig_representative": "Legal representative (if the patient cannot sign)",
        "sig_physician": "Physician who gave the information",
        "sig_witness": "Witness or interpreter (if present)",
        "sig_name": "Name",
        "sig_signature": "Signature",
        "sig_date": "Date",
        "sig_relationship": "Relationship to the patient",
        "partner_azacitidine": (
            "azacitidine (an injection under the skin on days 1 to 7 of each cycle)"
        ),
        "partner_decitabine_5": "decitabine (a drip into a vein on days 1 to 5 of each cycle)",
        "partner_decitabine_10": (
            "decitabine (a drip into a vein on days 1 to 10 of the first cycles)"
        ),
        "partner_ldac": (
            "low-dose cytarabine (an injection under the skin on days 1 to 10 of each cycle)"
        ),
        "partner_flag_ida": (
            "FLAG-Ida chemotherapy (fludarabine, cytarabine, idarubicin and G-CSF, in hospital)"
        ),
        "partner_dli": "donor lymphocyte infusions (white blood cells from your transplant donor)",
        "partner_monotherapy": "no other leukaemia medicine",
        "partner_other": "the other medicines your doctor describes",
        "design_trial": "clinical trial (phase II or phase Ib/II)",
        "design_retrospective": "retrospective study (a look back at patients already treated)",
        "design_case_report": "case report (one or a few patients)",
    },
    "it": {
        "title": "Foglio informativo e modulo di consenso per il paziente",
        "subtitle": "Trattamento fuori indicazione (off-label) con {drug}",
        "document_label": "Documento",
        "version_label": "Versione",
        "language_label": "Lingua",
        "page_label": "Pagina",
        "of_label": "di",
        "patient_label": "Paziente",
        "born_label": "Data di nascita",
        "hospital_label": "Ospedale",
        "physician_label": "Medico responsabile del trattamento",
        "date_label": "Data",
        "h_medicine": "1. Che cos'è questo medicinale?",
        "h_why": "2. Perché Le viene proposto?",
        "h_regimen": "3. Come si svolge il trattamento?",
        "h_monitoring": "4. Esami e controlli",
        "h_benefits": "5. Quali benefici ci si può attendere?",
        "h_risks": "6. Rischi ed effetti indesiderati",
        "h_alternatives": "7. Quali sono le alternative?",
        "h_pathway": "8. Le regole che si applicano a questo uso",
        "h_rights": "9. I Suoi diritti",
        "h_data": "10. Protezione dei Suoi dati personali",
        "h_contacts": "11. A chi rivolgersi",
        "h_consent": "12. Dichiarazione di consenso",
        "h_signatures": "13. Firme e date",
        "medicine_what": (
            "{drug} è un medicinale in compresse che si prende per bocca. Blocca BCL-2, una "
            "proteina che aiuta le cellule della leucemia a sopravvivere. Quando BCL-2 è bloccata, "
            "le cellule leucemiche possono morire."
        ),
        "medicine_offlabel": (
            "{drug} è autorizzato (approvato dalle autorità regolatorie dei medicinali) per altri "
            "usi: la leucemia linfatica cronica (un altro tipo di tumore del sangue) e, negli "
            "adulti che non possono ricevere una chemioterapia intensiva, la leucemia mieloide "
            "acuta appena diagnosticata. Non è invece autorizzato per la leucemia mieloide acuta "
            "che si è ripresentata (recidivata) o che non ha risposto alle cure (refrattaria) "
            "({indication}). Usare un medicinale al di fuori delle indicazioni autorizzate si "
            "chiama uso «fuori indicazione» (in inglese «off-label»). È consentito dalla legge "
            "quando il medico ritiene che sia la migliore opzione per Lei, Lei è d'accordo e "
            "vengono rispettate le regole descritte più avanti."
        ),
        "why_intro": "Il Suo medico Le propone questo trattamento per i seguenti motivi:",
        "regimen_text": (
            "{drug} si prende per bocca una volta al giorno, durante un pasto e con un bicchiere "
            "d'acqua, più o meno alla stessa ora ogni giorno. Terapia associata: {partner}. La "
            "dose giornaliera prevista è di {dose_mg} mg. Il trattamento si svolge in cicli di "
            "{cycle_days} giorni. Numero di cicli previsti: {cycles}."
        ),
        "rampup_intro": (
            "Per ridurre il rischio di lisi tumorale (vedere più avanti), nei primi giorni la dose "
            "viene aumentata gradualmente:"
        ),
        "rampup_day": "Giorno {day}: {dose_mg} mg",
        "missed_dose": (
            "Se dimentica una dose e non sono passate più di 8 ore dall'orario abituale, la prenda "
            "appena se ne ricorda. Se sono passate più di 8 ore, salti quella dose e prenda la "
            "successiva all'orario abituale. Non prenda mai una dose doppia per compensare quella "
            "dimenticata. Se vomita dopo aver preso una dose, non prenda una dose in più: prenda "
            "la dose successiva all'orario abituale. In entrambi i casi informi l'équipe curante."
        ),
        "food_interactions": (
            "Durante il trattamento con {drug} non mangi pompelmo, arance amare (dette anche "
            "arance di Siviglia, usate per esempio nelle marmellate) e carambola, e non ne beva il "
            "succo. Informi l'équipe curante di ogni altro medicinale che prende o che inizia a "
            "prendere, compresi i medicinali senza ricetta, le vitamine e i prodotti a base di "
            "erbe come l'iperico (erba di San Giovanni). Alcuni medicinali, tra cui gli "
            "antifungini (medicinali contro le infezioni da funghi) del gruppo degli azoli, "
            "possono modificare la quantità di {drug} nel sangue. In questo caso il medico "
            "potrebbe dover cambiare la dose."
        ),
        "monitoring_text": (
            "Sindrome da lisi tumorale: quando molte cellule leucemiche muoiono rapidamente, "
            "liberano nel sangue alcune sostanze (come potassio, fosfato e acido urico). Queste "
            "sostanze possono danneggiare i reni e alterare il ritmo del cuore. Il rischio è "
            "più alto nei primi giorni, mentre la dose viene aumentata. Per prevenirla, prima "
            "della prima dose Le sarà chiesto di bere molti liquidi (oppure li riceverà con una "
            "flebo) e riceverà un medicinale che abbassa l'acido urico. Se i Suoi globuli "
            "bianchi sono alti, potrebbe ricevere prima una cura per ridurli. Gli esami del "
            "sangue si fanno prima della prima dose e prima di ogni nuova dose durante "
            "l'aumento graduale, da 6 a 8 ore dopo ogni nuova dose e 24 ore dopo aver raggiunto "
            "la dose piena. Per questi giorni potrebbe essere necessario il ricovero in "
            "ospedale. Per tutta la durata del trattamento farà regolarmente l'emocromo "
            "(l'esame del sangue che conta le cellule del sangue); in base ai risultati, il "
            "medico potrà modificare o sospendere il trattamento."
        ),
        "benefits_numbers": (
            "Il Suo medico si è basato su {n_studies} studi pubblicati che riportano risultati per "
            "pazienti come Lei (con leucemia ricaduta o che non ha risposto alle terapie, trattati "
            "con venetoclax; {n_patients} pazienti in tutto). In questi pazienti, la percentuale "
            "di risposta della leucemia al trattamento è stata compresa tra {orr_low}% e "
            "{orr_high}%."
        ),
        "benefits_single": (
            "Nello studio pubblicato su cui si è basato il Suo medico, che riporta risultati per "
            "pazienti come Lei ({n_patients} pazienti con leucemia ricaduta o che non ha risposto "
            "alle terapie, trattati con venetoclax), la percentuale di risposta della leucemia al "
            "trattamento è stata {orr_low}%."
        ),
        "benefits_no_numbers": (
            "Gli studi pubblicati su cui si è basato il Suo medico non forniscono un unico dato "
            "complessivo di risposta che si possa applicare al Suo caso."
        ),
        "benefits_uncertainty": (
            "Questi risultati vanno letti con prudenza. La maggior parte di questi studi ha "
            "analizzato a posteriori pazienti già trattati (studi retrospettivi). Molti hanno "
            "incluso pochi pazienti e sono diversi tra loro per tipo di pazienti e per medicinali "
            "associati. Per questo i risultati potrebbero non valere per Lei. «Rispondere al "
            "trattamento» significa che dopo la cura gli esami mostrano molte meno cellule "
            "leucemiche; non significa guarire. Una risposta può non durare e la leucemia può "
            "ripresentarsi. Nessuno può garantirLe un beneficio. Lo scopo di questo trattamento è "
            "controllare la leucemia e, per alcuni pazienti, rendere possibile un trapianto di "
            "cellule staminali."
        ),
        "benefits_design": "Il tipo di studio più solido tra questi è: {design}.",
        "risks_intro": (
            "Qui sotto sono descritti gli effetti indesiderati più importanti di questo "
            "trattamento. Molti dipendono dall'effetto della cura sul midollo osseo (dove si "
            "producono le cellule del sangue). L'équipe curante li controllerà con attenzione, con "
            "visite ed esami del sangue regolari."
        ),
        "risk_frequency": "Nello studio {study}, {event}: {percent}% dei pazienti.",
        "risks_report": (
            "Contatti subito l'équipe curante, a qualsiasi ora del giorno e della notte, al "
            "numero {phone}, se ha: febbre uguale o superiore a 38 °C; brividi; sanguinamenti o "
            "lividi insoliti; fiato corto (difficoltà a respirare); poca urina; diarrea grave. "
            "Non aspetti la visita successiva."
        ),
        "risks_other": (
            "Sono possibili anche altri effetti indesiderati, compresi alcuni non ancora "
            "conosciuti. L'équipe curante La informerà di ogni nuova informazione che potrebbe "
            "cambiare la Sua decisione."
        ),
        "alternatives_text": (
            "Lei non ha alcun obbligo di ricevere questo trattamento. Le alternative possono "
            "comprendere: la partecipazione a una sperimentazione clinica (uno studio di ricerca "
            "su nuove cure), se ce n'è una adatta a Lei; altri trattamenti, come la chemioterapia "
            "o altri farmaci mirati (medicinali che agiscono su una specifica alterazione delle "
            "cellule leucemiche), quando sono adatti al Suo tipo di leucemia; il trapianto "
            "allogenico di cellule staminali (ricevere da un donatore le cellule che producono il "
            "sangue), se è possibile nel Suo caso; le sole cure di supporto (trasfusioni, "
            "antibiotici, cure per il benessere e per il controllo dei sintomi, senza una terapia "
            "diretta contro la leucemia). Il Suo medico può spiegarLe i benefici e i rischi di "
            "ciascuna possibilità."
        ),
        "rights_refuse": (
            "La decisione spetta a Lei. È libero/a di rifiutare questo trattamento. Se rifiuta, le "
            "cure che riceve non cambieranno: l'équipe continuerà a seguirLa e a discutere con Lei "
            "le altre possibilità."
        ),
        "rights_withdraw": (
            "Può ritirare il Suo consenso in qualsiasi momento, senza dover dare spiegazioni e "
            "senza perdere alcuna cura. Lo comunichi al Suo medico, che Le spiegherà come "
            "interrompere il trattamento in sicurezza."
        ),
        "rights_questions": (
            "Può fare domande in qualsiasi momento, prima e durante il trattamento. Può prendersi "
            "il tempo necessario per decidere e parlarne con i Suoi familiari o con il Suo medico "
            "di famiglia. Può chiedere una copia di questo documento."
        ),
        "contacts_text": (
            "Per domande o problemi, si rivolga a {physician} presso {hospital}. Di giorno e di "
            "notte può chiamare il numero {phone}. In caso di emergenza, vada al pronto "
            "soccorso più vicino e mostri questo documento."
        ),
        "phone_24h_label": "Telefono attivo 24 ore su 24 (giorno e notte)",
        "why_in_person": (
            "Il Suo medico Le spiegherà di persona, con parole comprensibili, perché Le propone "
            "questo trattamento e risponderà alle Sue domande prima della firma."
        ),
        "risk_graded": "{event} di grado {grade}",
        "study_population": "{study} ({n} pazienti)",
        "risk_count": "Nello studio {study}, {event}: {n} pazienti.",
        "risks_reproduction": (
            "Gravidanza, allattamento e fertilità. Questo trattamento può nuocere a un bambino "
            "non ancora nato. Se può rimanere incinta, usi un metodo contraccettivo efficace "
            "durante il trattamento e per 30 giorni dopo l'ultima dose, e in caso di gravidanza "
            "informi subito il medico. Gli uomini devono chiedere all'équipe quale "
            "contraccezione usare, perché anche gli altri medicinali del trattamento possono "
            "richiederla. Non allatti al seno durante il trattamento e per 1 settimana dopo "
            "l'ultima dose. {drug} può ridurre la fertilità maschile (la capacità di avere "
            "figli): se desidera avere figli, ne parli con l'équipe prima di iniziare."
        ),
        "risks_vaccines": (
            "Vaccini. Non deve ricevere vaccini vivi attenuati (vaccini preparati con un germe "
            "vivo indebolito) prima, durante e dopo il trattamento, finché il medico non Le "
            "conferma che le Sue difese immunitarie (i linfociti B, un tipo di globuli bianchi) "
            "si sono ristabilite. Chieda all'équipe prima di qualsiasi vaccinazione."
        ),
        "cost_label": "Chi paga il medicinale?",
        "data_controller": (
            "Il titolare del trattamento dei dati (il soggetto responsabile dei Suoi dati) è "
            "{controller}. Può contattare il Responsabile della protezione dei dati (RPD/DPO) "
            "al seguente recapito: {dpo}."
        ),
        "data_purpose": (
            "I Suoi dati personali e sanitari sono trattati per curarLa e, quando le regole "
            "descritte nella sezione 8 lo richiedono, per controllare la sicurezza e i "
            "risultati del trattamento e per segnalare le sospette reazioni avverse. Sono "
            "trattati secondo {regulation}. La base giuridica è la finalità di cura (articolo 9, "
            "paragrafo 2, lettera h, del GDPR) e, per il controllo della sicurezza, i motivi di "
            "interesse pubblico nel settore della sanità pubblica (articolo 9, paragrafo 2, "
            "lettera i, del GDPR). Possono vederli solo le persone autorizzate, tenute al "
            "segreto professionale."
        ),
        "data_recipients": (
            "Oltre all'équipe che La cura, i Suoi dati possono essere comunicati a: "
            "{recipients}; e alle autorità competenti per la sicurezza dei medicinali, quando "
            "viene segnalata una sospetta reazione avversa."
        ),
        "data_recipients_care": (
            "I Suoi dati sono comunicati solo all'équipe che La cura e, quando viene segnalata "
            "una sospetta reazione avversa, alle autorità competenti per la sicurezza dei "
            "medicinali."
        ),
        "data_retention_years": (
            "La Sua documentazione sanitaria è conservata per {years} anni, secondo le regole "
            "di conservazione dell'ospedale."
        ),
        "data_retention_law": (
            "La Sua documentazione sanitaria è conservata per il tempo previsto dalle norme "
            "sulla documentazione sanitaria; il Responsabile della protezione dei dati può "
            "indicarLe per quanto tempo."
        ),
        "data_rights": (
            "Ha il diritto di accedere ai Suoi dati e di ottenerne la rettifica, la "
            "cancellazione e la limitazione del trattamento, e di opporsi al trattamento "
            "(articoli da 15 a 18 e 21 del GDPR), nei limiti previsti dalla legge per la "
            "documentazione sanitaria. Per esercitare questi diritti si rivolga al Responsabile "
            "della protezione dei dati."
        ),
        "data_authority": (
            "Se ritiene che i Suoi dati non siano trattati in modo conforme alla legge, può "
            "proporre reclamo all'autorità di controllo: {authority}."
        ),
        "consent_statements": (
            "Ho letto e compreso queste informazioni, oppure mi sono state lette e spiegate.\n"
            "Ho avuto la possibilità di fare domande e ho ricevuto risposta.\n"
            "Ho compreso che l'uso di {drug} per la mia leucemia è fuori indicazione (off-label).\n"
            "Ho compreso i possibili benefici, i rischi e le alternative.\n"
            "So che posso ritirare il mio consenso in qualsiasi momento, senza dare spiegazioni e "
            "senza perdere alcuna cura.\n"
            "Accetto di essere curato/a con {drug} come descritto in questo documento."
        ),
        "sig_patient": "Paziente",
        "sig_representative": "Rappresentante legale (se il paziente non può firmare)",
        "sig_physician": "Medico che ha fornito le informazioni",
        "sig_witness": "Testimone o interprete (se presente)",
        "sig_name": "Nome e cognome",
        "sig_signature": "Firma",
        "sig_date": "Data",
        "sig_relationship": "Rapporto con il paziente",
        "partner_azacitidine": (
            "azacitidina (un'iniezione sotto la pelle nei giorni da 1 a 7 di ogni ciclo)"
        ),
        "partner_decitabine_5": "decitabina (una flebo in vena nei giorni da 1 a 5 di ogni ciclo)",
        "partner_decitabine_10": (
            "decitabina (una flebo in vena nei giorni da 1 a 10 dei primi cicli)"
        ),
        "partner_ldac": (
            "citarabina a basse dosi (un'iniezione sotto la pelle nei giorni da 1 a 10 di ogni "
            "ciclo)"
        ),
        "partner_flag_ida": (
            "chemioterapia FLAG-Ida (fludarabina, citarabina, idarubicina e G-CSF, in ospedale)"
        ),
        "partner_dli": (
            "infusioni di linfociti del donatore (globuli bianchi del donatore del Suo trapianto)"
        ),
        "partner_monotherapy": "nessun altro medicinale contro la leucemia",
        "partner_other": "gli altri medicinali che Le descriverà il Suo medico",
        "design_trial": "sperimentazione clinica (di fase II o di fase Ib/II)",
        "design_retrospective": (
            "studio retrospettivo (un'analisi a posteriori di pazienti già trattati)"
        ),
        "design_case_report": "descrizione di casi clinici (uno o pochi pazienti)",
    },
    "fr": {
        "title": "Note d'information et formulaire de consentement du patient",
        "subtitle": "Traitement par {drug} hors autorisation de mise sur le marché (hors AMM)",
        "document_label": "Document",
        "version_label": "Version",
        "language_label": "Langue",
        "page_label": "Page",
        "of_label": "sur",
        "patient_label": "Patient(e)",
        "born_label": "Date de naissance",
        "hospital_label": "Établissement",
        "physician_label": "Médecin responsable du traitement",
        "date_label": "Date",
        "h_medicine": "1. Qu'est-ce que ce médicament\u00a0?",
        "h_why": "2. Pourquoi vous est-il proposé\u00a0?",
        "h_regimen": "3. Comment se déroule le traitement\u00a0?",
        "h_monitoring": "4. Examens et surveillance",
        "h_benefits": "5. Quel bénéfice peut-on en attendre\u00a0?",
        "h_risks": "6. Risques et effets indésirables",
        "h_alternatives": "7. Quelles sont les autres possibilités\u00a0?",
        "h_pathway": "8. Les règles qui s'appliquent à cette prescription",
        "h_rights": "9. Vos droits",
        "h_data": "10. Protection de vos données personnelles",
        "h_contacts": "11. Qui contacter\u00a0?",
        "h_consent": "12. Déclaration de consentement",
        "h_signatures": "13. Signatures et dates",
        "medicine_what": (
            "{drug} est un médicament en comprimés, qui se prend par la bouche. Il bloque BCL-2, "
            "une protéine qui aide les cellules leucémiques à survivre. Lorsque cette protéine est "
            "bloquée, les cellules leucémiques peuvent mourir."
        ),
        "medicine_offlabel": (
            "{drug} dispose d'une autorisation de mise sur le marché (AMM, c'est-à-dire une "
            "autorisation officielle) pour d'autres utilisations\u00a0: la leucémie lymphoïde "
            "chronique (un autre type de cancer du sang) et, chez les adultes qui ne peuvent pas "
            "recevoir de chimiothérapie intensive, la leucémie aiguë myéloïde qui vient d'être "
            "diagnostiquée. Il n'est pas autorisé pour la leucémie aiguë myéloïde qui est revenue "
            "(rechute) ou qui n'a pas répondu au traitement (forme réfractaire) ({indication}). "
            "Utiliser un médicament en dehors de son autorisation s'appelle une prescription "
            "«\u00a0hors AMM\u00a0». C'est légal lorsque votre médecin estime que c'est la "
            "meilleure option pour vous, que vous êtes d'accord et que les règles décrites plus "
            "loin sont respectées."
        ),
        "why_intro": "Votre médecin vous propose ce traitement pour les raisons suivantes\u00a0:",
        "regimen_text": (
            "{drug} se prend par la bouche une fois par jour, au cours d'un repas, avec un verre "
            "d'eau, à peu près à la même heure chaque jour. Traitement associé\u00a0: {partner}. "
            "La dose quotidienne prévue est de {dose_mg} mg. Le traitement est donné par cycles de "
            "{cycle_days} jours. Nombre de cycles prévus\u00a0: {cycles}."
        ),
        "rampup_intro": (
            "Pour diminuer le risque de lyse tumorale (voir plus loin), la dose est augmentée "
            "progressivement pendant les premiers jours\u00a0:"
        ),
        "rampup_day": "Jour {day}\u00a0: {dose_mg} mg",
        "missed_dose": (
            "Si vous oubliez une dose et que 8 heures au plus se sont écoulées depuis l'heure "
            "habituelle, prenez-la dès que vous y pensez. Si plus de 8 heures se sont écoulées, ne "
            "prenez pas la dose oubliée et prenez la suivante à l'heure habituelle. Ne prenez "
            "jamais de dose double pour compenser une dose oubliée. Si vous vomissez après avoir "
            "pris une dose, ne prenez pas de dose supplémentaire\u00a0: prenez la dose suivante à "
            "l'heure habituelle. Dans les deux cas, prévenez l'équipe soignante."
        ),
        "food_interactions": (
            "Pendant le traitement par {drug}, ne consommez pas de pamplemousse, d'oranges amères "
            "(appelées aussi oranges de Séville, utilisées par exemple dans certaines confitures) "
            "ni de carambole, ni leur jus. Informez l'équipe soignante de tout autre médicament "
            "que vous prenez ou commencez à prendre, y compris les médicaments sans ordonnance, "
            "les vitamines et les produits à base de plantes comme le millepertuis. Certains "
            "médicaments, notamment les antifongiques (médicaments contre les infections dues à "
            "des champignons) de la famille des azolés, peuvent modifier la quantité de {drug} "
            "dans le sang. Votre médecin devra alors peut-être modifier la dose."
        ),
        "monitoring_text": (
            "Syndrome de lyse tumorale\u00a0: lorsque de nombreuses cellules leucémiques "
            "meurent rapidement, elles libèrent dans le sang certaines substances (comme le "
            "potassium, le phosphate et l'acide urique). Ces substances peuvent abîmer les "
            "reins et perturber le rythme du cœur. Le risque est le plus élevé pendant les "
            "premiers jours, lorsque la dose augmente. Pour le prévenir, avant la première "
            "dose, vous boirez beaucoup (ou vous recevrez des liquides par perfusion) et vous "
            "recevrez un médicament qui fait baisser l'acide urique. Si votre nombre de "
            "globules blancs est élevé, vous pourrez d'abord recevoir un traitement pour le "
            "faire baisser. Des prises de sang sont faites avant la première dose et avant "
            "chaque nouvelle dose pendant la phase d'augmentation, 6 à 8 heures après chaque "
            "nouvelle dose et 24 heures après avoir atteint la dose complète. Vous devrez "
            "peut-être rester à l'hôpital pendant ces jours. Pendant tout le traitement, vous "
            "aurez régulièrement une numération formule sanguine (une prise de sang qui compte "
            "les cellules du sang)\u00a0; selon les résultats, votre médecin pourra adapter ou "
            "interrompre le traitement."
        ),
        "benefits_numbers": (
            "Dans les {n_studies} études publiées sur lesquelles votre médecin s'est appuyé et "
            "qui donnent des résultats pour des patients comme vous (leucémie en rechute ou "
            "résistante, traitée par vénétoclax\u00a0; {n_patients} patients au total), la "
            "leucémie a répondu au traitement chez {orr_low}\u00a0% à {orr_high}\u00a0% de ces "
            "patients."
        ),
        "benefits_single": (
            "Dans l'étude publiée sur laquelle votre médecin s'est appuyé et qui donne des "
            "résultats pour des patients comme vous ({n_patients} patients atteints d'une "
            "leucémie en rechute ou résistante, traités par vénétoclax), la leucémie a répondu au "
            "traitement chez {orr_low}\u00a0% de ces patients."
        ),
        "benefits_no_numbers": (
            "Les études publiées sur lesquelles votre médecin s'est appuyé ne donnent pas de "
            "chiffre global de réponse qui s'appliquerait à votre cas."
        ),
        "benefits_uncertainty": (
            "Ces résultats doivent être lus avec prudence. La plupart de ces études ont analysé "
            "après coup des patients déjà traités (études rétrospectives). Beaucoup portaient sur "
            "peu de patients, et elles diffèrent entre elles par les patients inclus et les "
            "médicaments associés. Leurs résultats ne s'appliquent donc peut-être pas à votre cas. "
            "«\u00a0Répondre au traitement\u00a0» signifie qu'après le traitement, les examens "
            "montrent beaucoup moins de cellules leucémiques\u00a0; cela ne veut pas dire guérir. "
            "Une réponse peut ne pas durer et la leucémie peut revenir. Personne ne peut vous "
            "garantir un bénéfice. Ce traitement a pour but de contrôler la leucémie et, pour "
            "certains patients, de rendre possible une greffe de cellules souches."
        ),
        "benefits_design": "Parmi ces études, le type d'étude le plus solide est\u00a0: {design}.",
        "risks_intro": (
            "Voici les effets indésirables les plus importants de ce traitement. Beaucoup sont dus "
            "à l'effet du traitement sur la moelle osseuse (l'endroit où sont fabriquées les "
            "cellules du sang). L'équipe soignante les surveillera attentivement, avec des "
            "consultations et des prises de sang régulières."
        ),
        "risk_frequency": "Dans l'étude {study}, {event}\u00a0: {percent}\u00a0% des patients.",
        "risks_report": (
            "Contactez immédiatement l'équipe soignante, à toute heure du jour ou de la nuit, "
            "au {phone}, si vous avez\u00a0: une fièvre de 38 °C ou plus\u00a0; des "
            "frissons\u00a0; des saignements ou des bleus inhabituels\u00a0; un "
            "essoufflement\xa0; très peu d'urine\xa0; une diarrhée sévère. N'attendez pas le "
            "prochain rendez-vous."
        ),
        "risks_other": (
            "D'autres effets indésirables sont possibles, dont certains ne sont pas encore "
            "connus. L'équipe soignante vous informera de toute nouvelle donnée qui pourrait "
            "modifier votre décision."
        ),
        "alternatives_text": (
            "Rien ne vous oblige à recevoir ce traitement. D'autres possibilités peuvent "
            "exister\u00a0: participer à un essai clinique (une étude de recherche sur de nouveaux "
            "traitements), s'il en existe un qui vous convient\u00a0; d'autres traitements, comme "
            "une chimiothérapie ou d'autres thérapies ciblées (médicaments qui agissent sur une "
            "anomalie précise des cellules leucémiques), lorsqu'ils conviennent à votre type de "
            "leucémie\u00a0; une greffe allogénique de cellules souches (recevoir d'un donneur des "
            "cellules qui fabriquent le sang), si elle est possible pour vous\u00a0; des soins de "
            "support uniquement (transfusions, antibiotiques, soins de confort et traitement des "
            "symptômes, sans traitement dirigé contre la leucémie elle-même). Votre médecin peut "
            "vous expliquer les bénéfices et les risques de chaque possibilité."
        ),
        "rights_refuse": (
            "La décision vous appartient. Vous êtes libre de refuser ce traitement. Si vous "
            "refusez, cela ne changera rien aux soins que vous recevez\u00a0: l'équipe continuera "
            "à vous suivre et à discuter avec vous des autres possibilités."
        ),
        "rights_withdraw": (
            "Vous pouvez retirer votre consentement à tout moment, sans avoir à vous justifier et "
            "sans perdre aucun soin. Prévenez votre médecin, qui vous expliquera comment arrêter "
            "le traitement en toute sécurité."
        ),
        "rights_questions": (
            "Vous pouvez poser des questions à tout moment, avant et pendant le traitement. Vous "
            "pouvez prendre le temps de réfléchir et en parler avec vos proches ou avec votre "
            "médecin traitant. Vous pouvez demander une copie de ce document."
        ),
        "contacts_text": (
            "Pour toute question ou tout problème, contactez {physician} ({hospital}). De jour "
            "comme de nuit, appelez le {phone}. En cas d'urgence, rendez-vous au service des "
            "urgences le plus proche et montrez ce document."
        ),
        "phone_24h_label": "Téléphone joignable 24\u00a0h/24 (jour et nuit)",
        "why_in_person": (
            "Votre médecin vous expliquera de vive voix, avec des mots simples, pourquoi il "
            "vous propose ce traitement, et répondra à vos questions avant la signature."
        ),
        "risk_graded": "{event} de grade {grade}",
        "study_population": "{study} ({n}\u00a0patients)",
        "risk_count": "Dans l'étude {study}, {event}\xa0: {n}\xa0patients.",
        "risks_reproduction": (
            "Grossesse, allaitement et fertilité. Ce traitement peut être dangereux pour un "
            "enfant à naître. Si vous pouvez être enceinte, utilisez une contraception efficace "
            "pendant le traitement et pendant 30 jours après la dernière dose, et prévenez "
            "immédiatement votre médecin en cas de grossesse. Les hommes doivent demander à "
            "l'équipe quelle contraception utiliser, car les autres médicaments du traitement "
            "peuvent aussi l'exiger. N'allaitez pas pendant le traitement et pendant 1 semaine "
            "après la dernière dose. {drug} peut altérer la fertilité masculine (la capacité à "
            "avoir des enfants)\xa0: si vous souhaitez avoir des enfants, parlez-en à l'équipe "
            "avant de commencer."
        ),
        "risks_vaccines": (
            "Vaccins. Vous ne devez pas recevoir de vaccin vivant atténué (vaccin fabriqué avec "
            "un germe vivant affaibli) avant, pendant et après le traitement, tant que votre "
            "médecin ne vous a pas confirmé que vos défenses immunitaires (les lymphocytes B, "
            "un type de globules blancs) se sont rétablies. Demandez l'avis de l'équipe avant "
            "toute vaccination."
        ),
        "cost_label": "Qui paie le médicament\u00a0?",
        "data_controller": (
            "Le responsable du traitement des données (l'organisme responsable de vos données) "
            "est {controller}. Vous pouvez contacter son délégué à la protection des données "
            "(DPO) à l'adresse suivante\xa0: {dpo}."
        ),
        "data_purpose": (
            "Vos données personnelles et de santé sont traitées pour vous soigner et, lorsque "
            "les règles décrites à la rubrique 8 l'exigent, pour surveiller la sécurité et les "
            "résultats du traitement et pour déclarer les effets indésirables suspectés. Elles "
            "sont traitées conformément {regulation}. La base juridique est la prise en charge "
            "sanitaire (article 9, paragraphe 2, point h, du RGPD) et, pour la surveillance de "
            "la sécurité, des motifs d'intérêt public dans le domaine de la santé publique "
            "(article 9, paragraphe 2, point i, du RGPD). Seules les personnes autorisées, "
            "soumises au secret professionnel, peuvent les consulter."
        ),
        "data_recipients": (
            "Outre l'équipe qui vous soigne, vos données peuvent être communiquées à\xa0: "
            "{recipients}\xa0; ainsi qu'aux autorités chargées de la sécurité des médicaments, "
            "lorsqu'un effet indésirable suspecté est déclaré."
        ),
        "data_recipients_care": (
            "Vos données ne sont communiquées qu'à l'équipe qui vous soigne et, lorsqu'un effet "
            "indésirable suspecté est déclaré, aux autorités chargées de la sécurité des "
            "médicaments."
        ),
        "data_retention_years": (
            "Votre dossier médical est conservé pendant {years}\u00a0ans, selon les règles de "
            "conservation de l'établissement."
        ),
        "data_retention_law": (
            "Votre dossier médical est conservé pendant la durée prévue par la réglementation "
            "sur le dossier médical\u00a0; le délégué à la protection des données peut vous "
            "indiquer cette durée."
        ),
        "data_rights": (
            "Vous avez le droit d'accéder à vos données, d'en obtenir la rectification, "
            "l'effacement et la limitation du traitement, et de vous opposer à leur traitement "
            "(articles 15 à 18 et 21 du RGPD), dans les limites fixées par la loi pour le "
            "dossier médical. Pour exercer ces droits, adressez-vous au délégué à la protection "
            "des données."
        ),
        "data_authority": (
            "Si vous estimez que vos données ne sont pas traitées conformément à la loi, vous "
            "pouvez introduire une réclamation auprès de l'autorité de contrôle\xa0: "
            "{authority}."
        ),
        "consent_statements": (
            "J'ai lu et compris ces informations, ou elles m'ont été lues et expliquées.\n"
            "J'ai pu poser des questions et j'ai reçu des réponses.\n"
            "J'ai compris que l'utilisation de {drug} pour ma leucémie se fait hors AMM (en dehors "
            "de son autorisation).\n"
            "J'ai compris les bénéfices possibles, les risques et les autres possibilités.\n"
            "Je sais que je peux retirer mon consentement à tout moment, sans me justifier et sans "
            "perdre aucun soin.\n"
            "J'accepte d'être traité(e) par {drug} comme décrit dans ce document."
        ),
        "sig_patient": "Patient(e)",
        "sig_representative": "Représentant légal (si le patient ne peut pas signer)",
        "sig_physician": "Médecin qui a donné l'information",
        "sig_witness": "Témoin ou interprète (le cas échéant)",
        "sig_name": "Nom et prénom",
        "sig_signature": "Signature",
        "sig_date": "Date",
        "sig_relationship": "Lien avec le patient",
        "partner_azacitidine": (
            "azacitidine (une injection sous la peau les jours 1 à 7 de chaque cycle)"
        ),
        "partner_decitabine_5": (
            "décitabine (une perfusion dans une veine les jours 1 à 5 de chaque cycle)"
        ),
        "partner_decitabine_10": (
            "décitabine (une perfusion dans une veine les jours 1 à 10 des premiers cycles)"
        ),
        "partner_ldac": (
            "cytarabine à faible dose (une injection sous la peau les jours 1 à 10 de chaque cycle)"
        ),
        "partner_flag_ida": (
            "chimiothérapie FLAG-Ida (fludarabine, cytarabine, idarubicine et G-CSF, à l'hôpital)"
        ),
        "partner_dli": (
            "injections de lymphocytes du donneur (globules blancs provenant du donneur de votre "
            "greffe)"
        ),
        "partner_monotherapy": "aucun autre médicament contre la leucémie",
        "partner_other": "les autres médicaments que votre médecin vous décrira",
        "design_trial": "essai clinique (de phase II ou de phase Ib/II)",
        "design_retrospective": "étude rétrospective (analyse après coup de patients déjà traités)",
        "design_case_report": "description de cas (un seul ou quelques patients)",
    },
}

PATHWAY_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "it_law_648": (
            "Law 648/1996 (Italy). In Italy, a medicine can be used outside its authorisation when "
            "AIFA (the Italian Medicines Agency) has placed that use on a national list under Law "
            "648/1996. The use of {drug} for your type of leukaemia is on this list, under precise "
            "conditions that your doctor has checked. The national health service (SSN) pays for "
            "the medicine. As required, your doctor will enter your treatment in AIFA's monitoring "
            "registry, which collects data on how the treatment goes, its side effects and whether "
            "it is stopped."
        ),
        "it_law_94_98": (
            "Law 94/1998 (Italy). Italian law allows a doctor to prescribe a medicine outside its "
            "authorisation for a single patient, when the doctor judges, on documented grounds, "
            "that no authorised medicine can usefully treat you, and the use is supported by "
            "published studies. Your doctor takes direct personal responsibility for this use. "
            "Your written consent is required. At {hospital}, the pharmacy and the drug committee "
            "may also review the request before treatment starts."
        ),
        "it_aifa_5_fund": (
            "AIFA 5% Fund (Italy). The hospital asks AIFA (the Italian Medicines Agency) to pay "
            "for the medicine for you by name, from a national fund for serious and rare diseases "
            "(Law 326/2003). The request describes your illness, why there is no suitable "
            "alternative and the planned treatment. Treatment with {drug} starts once AIFA agrees. "
            "If treatment continues, the hospital sends AIFA reports on its results and side "
            "effects."
        ),
        "it_dm_7_9_2017": (
            "Compassionate use (Italy, Ministerial Decree of 7 September 2017). The company that "
            "makes {drug} supplies it free of charge for you. This is possible for serious "
            "diseases when there is no valid alternative. Before treatment starts, the ethics "
            "committee (an independent group that protects the rights and safety of patients) must "
            "approve it. Your doctor will collect data on the safety and results of your treatment."
        ),
        "fr_off_label_no_cpc": (
            "Off-label prescription (France). {drug} is prescribed for you outside its marketing "
            "authorisation, under your doctor's responsibility, because no appropriate authorised "
            "alternative exists and your doctor judges it indispensable based on current "
            "scientific knowledge. The reasons are written in your medical record. This document "
            "informs you that this use is off-label."
        ),
        "de_gkv_cost_coverage": (
            "Cost coverage (Germany). Before treatment starts, the hospital asks your health "
            "insurer to pay for this off-label use. Insurers pay for such use only for a serious "
            "disease, when no other suitable treatment exists and there is a reasonable chance of "
            "benefit. The insurer decides; your doctor will tell you the answer before starting."
        ),
        "es_rd_1015_2009": (
            "Off-label use (Spain, Royal Decree 1015/2009). Your doctor records the reasons for "
            "this use in your clinical record, informs you about its possible benefits and risks, "
            "and must obtain your consent before treatment. The hospital may also apply its own "
            "rules for this type of use."
        ),
        "gb_gmc_off_label": (
            "Off-label prescribing (United Kingdom). {drug} is prescribed following the guidance "
            "of the General Medical Council (GMC, the body that regulates doctors). Your doctor "
            "has judged that it meets your needs and that there is enough evidence about its "
            "safety and effects. Your doctor takes responsibility for this prescription, monitors "
            "you, keeps a clear record and must give you enough information to decide."
        ),
        "us_pt_committee": (
            "Off-label use (United States). Doctors may legally prescribe an approved medicine for "
            "a use that is not on its label. At {hospital}, this use is reviewed under the policy "
            "of the pharmacy and therapeutics committee (a group of doctors and pharmacists that "
            "oversees how medicines are used in the hospital). Your insurer decides whether it "
            "pays; ask the team about costs."
        ),
        "generic": (
            "This use of {drug} follows the laws and rules of your country and of {hospital}. Your "
            "doctor will explain which rules apply, who reviews the decision and how the cost of "
            "the medicine is covered."
        ),
    },
    "it": {
        "it_law_648": (
            "Legge 648/1996. In Italia un medicinale può essere usato al di fuori delle "
            "indicazioni autorizzate quando AIFA (Agenzia Italiana del Farmaco) ha inserito "
            "quell'uso in un elenco nazionale previsto dalla Legge 648/1996. L'uso di {drug} per "
            "il Suo tipo di leucemia è compreso in questo elenco, a condizioni precise che il Suo "
            "medico ha verificato. Il medicinale è a carico del Servizio sanitario nazionale "
            "(SSN). Come previsto, il Suo medico registrerà il trattamento nel registro di "
            "monitoraggio AIFA, che raccoglie dati sull'andamento della cura, sugli effetti "
            "indesiderati e sull'eventuale interruzione."
        ),
        "it_law_94_98": (
            "Legge 94/1998. La legge italiana consente al medico di prescrivere un medicinale al "
            "di fuori delle indicazioni autorizzate per un singolo paziente, quando ritiene, sulla "
            "base di elementi documentati, che nessun medicinale autorizzato possa curarLa "
            "utilmente e quando l'uso è sostenuto da studi pubblicati. Il Suo medico si assume "
            "direttamente la responsabilità personale di questo uso. È necessario il Suo consenso "
            "scritto. Presso {hospital} la richiesta può essere valutata anche dalla farmacia e "
            "dalla commissione del farmaco prima dell'inizio del trattamento."
        ),
        "it_aifa_5_fund": (
            "Fondo AIFA del 5%. L'ospedale chiede ad AIFA (Agenzia Italiana del Farmaco) di pagare "
            "il medicinale per Lei, con una richiesta nominativa (cioè fatta solo per Lei), "
            "attraverso un fondo nazionale per malattie gravi e rare (Legge 326/2003). La "
            "richiesta descrive la Sua malattia, il motivo per cui non esistono alternative adatte "
            "e il trattamento previsto. Il trattamento con {drug} inizia solo dopo l'approvazione "
            "di AIFA. Se il trattamento prosegue, l'ospedale invia ad AIFA relazioni sui risultati "
            "e sugli effetti indesiderati."
        ),
        "it_dm_7_9_2017": (
            "Uso compassionevole (Decreto Ministeriale 7 settembre 2017). L'azienda che produce "
            "{drug} lo fornisce gratuitamente per Lei. Questo è possibile per malattie gravi "
            "quando non esistono alternative valide. Prima dell'inizio del trattamento, il "
            "comitato etico (un organismo indipendente che tutela i diritti e la sicurezza dei "
            "pazienti) deve approvarlo. Il Suo medico raccoglierà dati sulla sicurezza e sui "
            "risultati del trattamento."
        ),
        "fr_off_label_no_cpc": (
            "Prescrizione fuori indicazione (Francia). {drug} Le viene prescritto al di fuori "
            "della sua autorizzazione all'immissione in commercio, sotto la responsabilità del Suo "
            "medico, perché non esiste un'alternativa autorizzata adeguata e il medico lo ritiene "
            "indispensabile in base alle attuali conoscenze scientifiche. I motivi sono scritti "
            "nella Sua cartella clinica. Questo documento La informa che si tratta di un uso fuori "
            "indicazione (off-label)."
        ),
        "de_gkv_cost_coverage": (
            "Copertura dei costi (Germania). Prima dell'inizio del trattamento, l'ospedale chiede "
            "alla Sua assicurazione sanitaria di pagare questo uso fuori indicazione. Le "
            "assicurazioni pagano questo tipo di uso solo per malattie gravi, quando non esiste "
            "un'altra cura adatta e c'è una ragionevole possibilità di beneficio. La decisione "
            "spetta all'assicurazione; il Suo medico Le comunicherà la risposta prima di iniziare."
        ),
        "es_rd_1015_2009": (
            "Uso fuori indicazione (Spagna, Real Decreto 1015/2009). Il Suo medico scrive nella "
            "Sua cartella clinica i motivi di questo uso, La informa sui possibili benefici e "
            "rischi e deve ottenere il Suo consenso prima del trattamento. L'ospedale può "
            "applicare anche regole proprie per questo tipo di uso."
        ),
        "gb_gmc_off_label": (
            "Prescrizione fuori indicazione (Regno Unito). {drug} viene prescritto seguendo le "
            "indicazioni del General Medical Council (GMC, l'ente che regola la professione "
            "medica). Il Suo medico ha valutato che risponde alle Sue esigenze e che ci sono prove "
            "sufficienti sulla sua sicurezza e sui suoi effetti. Il medico si assume la "
            "responsabilità della prescrizione, La segue durante la cura, registra con chiarezza "
            "le decisioni e deve darLe informazioni sufficienti per decidere."
        ),
        "us_pt_committee": (
            "Uso fuori indicazione (Stati Uniti). I medici possono legalmente prescrivere un "
            "medicinale approvato per un uso che non è indicato nel suo foglietto illustrativo. "
            "Presso {hospital}, questo uso viene valutato secondo le regole del comitato di "
            "farmacia e terapia (un gruppo di medici e farmacisti che controlla come si usano i "
            "medicinali in ospedale). È la Sua assicurazione a decidere se pagare; chieda "
            "all'équipe informazioni sui costi."
        ),
        "generic": (
            "Questo uso di {drug} segue le leggi e le regole del Suo Paese e di {hospital}. Il Suo "
            "medico Le spiegherà quali regole si applicano, chi valuta la decisione e come viene "
            "coperto il costo del medicinale."
        ),
    },
    "fr": {
        "it_law_648": (
            "Loi 648/1996 (Italie). En Italie, un médicament peut être utilisé en dehors de son "
            "autorisation lorsque l'AIFA (Agence italienne du médicament) a inscrit cette "
            "utilisation sur une liste nationale prévue par la loi 648/1996. L'utilisation de "
            "{drug} pour votre type de leucémie figure sur cette liste, à des conditions précises "
            "que votre médecin a vérifiées. Le médicament est pris en charge par le service "
            "national de santé italien (SSN). Comme l'exige la réglementation, votre médecin "
            "inscrira votre traitement dans le registre de suivi de l'AIFA, qui recueille des "
            "données sur le déroulement du traitement, ses effets indésirables et son éventuel "
            "arrêt."
        ),
        "it_law_94_98": (
            "Loi 94/1998 (Italie). La loi italienne permet à un médecin de prescrire un médicament "
            "en dehors de son autorisation pour un seul patient, lorsqu'il estime, sur des "
            "éléments documentés, qu'aucun médicament autorisé ne peut vous soigner utilement, et "
            "que cette utilisation s'appuie sur des études publiées. Votre médecin engage "
            "directement sa responsabilité personnelle. Votre consentement écrit est obligatoire. "
            "Dans votre établissement ({hospital}), la pharmacie et le "
            "comité du médicament peuvent aussi examiner la demande avant le début du traitement."
        ),
        "it_aifa_5_fund": (
            "Fonds AIFA des 5\u00a0% (Italie). L'hôpital demande à l'AIFA (Agence italienne du "
            "médicament) de payer le médicament pour vous, par une demande nominative "
            "(c'est-à-dire faite uniquement pour vous), grâce à un fonds national destiné aux "
            "maladies graves et rares (loi 326/2003). La demande décrit votre maladie, la raison "
            "pour laquelle il n'existe pas d'autre option adaptée et le traitement prévu. Le "
            "traitement par {drug} ne commence qu'après l'accord de l'AIFA. Si le traitement se "
            "poursuit, l'hôpital envoie à l'AIFA des rapports sur ses résultats et ses effets "
            "indésirables."
        ),
        "it_dm_7_9_2017": (
            "Usage compassionnel (Italie, décret ministériel du 7 septembre 2017). Le laboratoire "
            "qui fabrique {drug} vous le fournit gratuitement. C'est possible pour des maladies "
            "graves lorsqu'il n'existe pas d'autre option valable. Avant le début du traitement, "
            "le comité d'éthique (un organisme indépendant qui protège les droits et la sécurité "
            "des patients) doit donner son accord. Votre médecin recueillera des données sur la "
            "sécurité et les résultats de votre traitement."
        ),
        "fr_off_label_no_cpc": (
            "Prescription hors AMM (France). {drug} vous est prescrit en dehors de son "
            "autorisation de mise sur le marché, sous la responsabilité de votre médecin, car il "
            "n'existe pas d'alternative médicamenteuse appropriée disposant d'une autorisation, et "
            "votre médecin juge ce traitement indispensable au regard des données acquises de la "
            "science. Les raisons de ce choix sont écrites dans votre dossier médical. Ce document "
            "vous informe que cette prescription est hors AMM."
        ),
        "de_gkv_cost_coverage": (
            "Prise en charge des coûts (Allemagne). Avant le début du traitement, l'hôpital "
            "demande à votre caisse d'assurance maladie de payer cette utilisation hors AMM. Les "
            "caisses ne la prennent en charge que pour une maladie grave, lorsqu'il n'existe pas "
            "d'autre traitement adapté et qu'il y a une chance raisonnable de bénéfice. La "
            "décision appartient à la caisse\u00a0; votre médecin vous communiquera la réponse "
            "avant de commencer."
        ),
        "es_rd_1015_2009": (
            "Utilisation hors AMM (Espagne, décret royal 1015/2009). Votre médecin écrit dans "
            "votre dossier clinique les raisons de cette utilisation, vous informe de ses "
            "bénéfices et risques possibles et doit obtenir votre consentement avant le "
            "traitement. L'hôpital peut aussi appliquer ses propres règles pour ce type "
            "d'utilisation."
        ),
        "gb_gmc_off_label": (
            "Prescription hors AMM (Royaume-Uni). {drug} est prescrit selon les recommandations du "
            "General Medical Council (GMC, l'organisme qui encadre la profession médicale). Votre "
            "médecin a jugé qu'il répond à vos besoins et que les données sur sa sécurité et ses "
            "effets sont suffisantes. Il engage sa responsabilité, assure votre suivi, consigne "
            "clairement sa décision et doit vous donner assez d'informations pour décider."
        ),
        "us_pt_committee": (
            "Utilisation en dehors de l'indication approuvée (États-Unis). Un médecin peut "
            "légalement prescrire un médicament approuvé pour une utilisation qui ne figure pas "
            "dans sa notice. Dans votre établissement ({hospital}), cette utilisation est examinée "
            "selon les règles du comité de pharmacie et de thérapeutique (un groupe de médecins et "
            "de pharmaciens qui encadre l'usage des médicaments à l'hôpital). Votre assurance "
            "décide si elle paie\u00a0; renseignez-vous auprès de l'équipe sur les coûts."
        ),
        "generic": (
            "Cette utilisation de {drug} suit les lois et les règles de votre pays et de votre "
            "établissement ({hospital}). Votre médecin vous expliquera quelles règles "
            "s'appliquent, qui examine la décision et comment le coût du médicament est couvert."
        ),
    },
}

RISKS: dict[str, dict[str, tuple[str, str]]] = {  # key -> (name, plain explanation)
    "en": {
        "death": (
            "Risk of death",
            (
                "This treatment can cause serious side effects that lead to death, mainly severe "
                "infections while the number of white blood cells is very low. The leukaemia "
                "itself can also be fatal. The figures below are the deaths reported by the "
                "studies your doctor relied on; some of these deaths may have been due to the "
                "leukaemia rather than to the treatment."
            ),
        ),
        "neutropenia": (
            "Neutropenia",
            (
                "A low number of neutrophils, the white blood cells that fight infection. It is "
                "very common with this treatment and makes infections more likely. The team checks "
                "your blood counts regularly and may delay the next cycle or give you medicines to "
                "prevent infection."
            ),
        ),
        "febrile_neutropenia": (
            "Febrile neutropenia",
            (
                "Fever when neutrophils are very low. It can be the sign of a serious infection "
                "and needs urgent treatment, usually in hospital with antibiotics through a drip. "
                "If you have a fever, call the team at once."
            ),
        ),
        "infections": (
            "Infections",
            (
                "Infections of the lungs, the blood or other parts of the body are common and can "
                "be serious, sometimes life-threatening. You may notice fever, chills, a cough or "
                "burning when you pass urine. The team may give you medicines to prevent "
                "infections and will treat any infection quickly."
            ),
        ),
        "thrombocytopenia": (
            "Thrombocytopenia",
            (
                "A low number of platelets, the blood cells that help blood to clot. You may "
                "bruise easily or have bleeding from the nose or gums. The team checks your "
                "platelets and may give you platelet transfusions."
            ),
        ),
        "anaemia": (
            "Anaemia",
            (
                "A low number of red blood cells, which carry oxygen. You may feel tired, weak or "
                "short of breath. The team may give you transfusions of red blood cells."
            ),
        ),
        "tumour_lysis": (
            "Tumour lysis syndrome",
            (
                "Substances released when many leukaemia cells die quickly can harm the kidneys "
                "and the heart. It is most likely in the first days of treatment. The team "
                "prevents it with fluids, a medicine that lowers uric acid and frequent blood "
                "tests, and treats it quickly if it happens."
            ),
        ),
        "heart_failure": (
            "Heart failure",
            (
                "The heart may pump less well than it should. You may notice shortness of breath, "
                "swollen legs or ankles, or unusual tiredness. Tell the team at once if you notice "
                "these signs."
            ),
        ),
        "bleeding": (
            "Bleeding",
            (
                "When platelets are very low, bleeding can be serious, including inside the body. "
                "Call the team at once if you have bleeding that does not stop, blood in your "
                "urine or stools, or if you cough up blood."
            ),
        ),
        "nausea_diarrhoea": (
            "Nausea, vomiting and diarrhoea",
            (
                "Feeling sick, vomiting and loose stools are common. Tell the team: medicines can "
                "help. Drink plenty of fluids, and call at once if diarrhoea is severe."
            ),
        ),
    },
    "it": {
        "death": (
            "Rischio di morte",
            (
                "Questo trattamento può causare effetti indesiderati gravi che portano alla morte, "
                "soprattutto infezioni gravi quando i globuli bianchi sono molto bassi. Anche la "
                "leucemia stessa può essere mortale. I dati che seguono sono i decessi riportati "
                "dagli studi su cui si è basato il Suo medico; alcuni di questi decessi possono "
                "essere stati causati dalla leucemia e non dal trattamento."
            ),
        ),
        "neutropenia": (
            "Neutropenia",
            (
                "Un numero basso di neutrofili, i globuli bianchi che combattono le infezioni. È "
                "molto frequente con questo trattamento e rende più probabili le infezioni. "
                "L'équipe controlla regolarmente il Suo emocromo e può rinviare il ciclo "
                "successivo o darLe medicinali per prevenire le infezioni."
            ),
        ),
        "febrile_neutropenia": (
            "Neutropenia febbrile",
            (
                "Febbre quando i neutrofili sono molto bassi. Può essere il segno di un'infezione "
                "grave e va curata con urgenza, di solito in ospedale con antibiotici per flebo. "
                "Se ha la febbre, contatti subito l'équipe."
            ),
        ),
        "infections": (
            "Infezioni",
            (
                "Le infezioni dei polmoni, del sangue o di altre parti del corpo sono frequenti e "
                "possono essere gravi e a volte mettere in pericolo la vita. Può notare febbre, "
                "brividi, tosse o bruciore quando urina. L'équipe può darLe medicinali per "
                "prevenire le infezioni e curerà rapidamente ogni infezione."
            ),
        ),
        "thrombocytopenia": (
            "Piastrinopenia (trombocitopenia)",
            (
                "Un numero basso di piastrine, le cellule del sangue che aiutano il sangue a "
                "coagulare. Possono comparire facilmente lividi o sangue dal naso o dalle gengive. "
                "L'équipe controlla le Sue piastrine e può darLe trasfusioni di piastrine."
            ),
        ),
        "anaemia": (
            "Anemia",
            (
                "Un numero basso di globuli rossi, che trasportano l'ossigeno. Può avvertire "
                "stanchezza, debolezza o fiato corto. L'équipe può darLe trasfusioni di globuli "
                "rossi."
            ),
        ),
        "tumour_lysis": (
            "Sindrome da lisi tumorale",
            (
                "Le sostanze liberate quando molte cellule leucemiche muoiono rapidamente possono "
                "danneggiare i reni e il cuore. È più probabile nei primi giorni di trattamento. "
                "L'équipe la previene con liquidi, un medicinale che abbassa l'acido urico ed "
                "esami del sangue frequenti, e la cura subito se si presenta."
            ),
        ),
        "heart_failure": (
            "Insufficienza cardiaca (scompenso cardiaco)",
            (
                "Il cuore può pompare il sangue meno bene del necessario. Può notare fiato corto, "
                "gonfiore alle gambe o alle caviglie o una stanchezza insolita. Se nota questi "
                "segni, informi subito l'équipe."
            ),
        ),
        "bleeding": (
            "Sanguinamenti",
            (
                "Quando le piastrine sono molto basse, i sanguinamenti possono essere gravi, anche "
                "all'interno del corpo. Chiami subito l'équipe se ha un sanguinamento che non si "
                "ferma, sangue nelle urine o nelle feci, o se tossisce sangue."
            ),
        ),
        "nausea_diarrhoea": (
            "Nausea, vomito e diarrea",
            (
                "Nausea, vomito e feci molli sono frequenti. Lo dica all'équipe: ci sono "
                "medicinali che possono aiutarLa. Beva molti liquidi e chiami subito se la diarrea "
                "è grave."
            ),
        ),
    },
    "fr": {
        "death": (
            "Risque de décès",
            (
                "Ce traitement peut entraîner des effets indésirables graves pouvant conduire au "
                "décès, surtout des infections graves lorsque les globules blancs sont très bas. "
                "La leucémie elle-même peut aussi être mortelle. Les chiffres ci-dessous sont les "
                "décès rapportés par les études sur lesquelles votre médecin s'est appuyé\u00a0; "
                "certains de ces décès ont pu être dus à la leucémie plutôt qu'au traitement."
            ),
        ),
        "neutropenia": (
            "Neutropénie",
            (
                "Un nombre bas de neutrophiles, les globules blancs qui combattent les infections. "
                "Elle est très fréquente avec ce traitement et rend les infections plus probables. "
                "L'équipe contrôle régulièrement vos prises de sang et peut retarder le cycle "
                "suivant ou vous donner des médicaments pour prévenir les infections."
            ),
        ),
        "febrile_neutropenia": (
            "Neutropénie fébrile",
            (
                "Une fièvre alors que les neutrophiles sont très bas. Elle peut être le signe "
                "d'une infection grave et doit être traitée en urgence, en général à l'hôpital "
                "avec des antibiotiques par perfusion. Si vous avez de la fièvre, contactez "
                "immédiatement l'équipe."
            ),
        ),
        "infections": (
            "Infections",
            (
                "Les infections des poumons, du sang ou d'autres parties du corps sont fréquentes "
                "et peuvent être graves, parfois au point de mettre la vie en danger. Vous pouvez "
                "remarquer de la fièvre, des frissons, une toux ou des brûlures en urinant. "
                "L'équipe peut vous donner des médicaments pour prévenir les infections et "
                "traitera rapidement toute infection."
            ),
        ),
        "thrombocytopenia": (
            "Thrombopénie",
            (
                "Un nombre bas de plaquettes, les cellules qui aident le sang à coaguler. Vous "
                "pouvez avoir facilement des bleus, ou saigner du nez ou des gencives. L'équipe "
                "surveille vos plaquettes et peut vous transfuser des plaquettes."
            ),
        ),
        "anaemia": (
            "Anémie",
            (
                "Un nombre bas de globules rouges, qui transportent l'oxygène. Vous pouvez "
                "ressentir de la fatigue, de la faiblesse ou un essoufflement. L'équipe peut vous "
                "transfuser des globules rouges."
            ),
        ),
        "tumour_lysis": (
            "Syndrome de lyse tumorale",
            (
                "Les substances libérées lorsque de nombreuses cellules leucémiques meurent "
                "rapidement peuvent abîmer les reins et le cœur. Ce risque est plus élevé pendant "
                "les premiers jours du traitement. L'équipe le prévient par une bonne hydratation, "
                "un médicament qui fait baisser l'acide urique et des prises de sang fréquentes, "
                "et le traite rapidement s'il survient."
            ),
        ),
        "heart_failure": (
            "Insuffisance cardiaque",
            (
                "Le cœur peut pomper le sang moins bien qu'il ne le devrait. Vous pouvez remarquer "
                "un essoufflement, un gonflement des jambes ou des chevilles, ou une fatigue "
                "inhabituelle. Prévenez immédiatement l'équipe si vous remarquez ces signes."
            ),
        ),
        "bleeding": (
            "Saignements",
            (
                "Lorsque les plaquettes sont très basses, les saignements peuvent être graves, y "
                "compris à l'intérieur du corps. Appelez immédiatement l'équipe si vous avez un "
                "saignement qui ne s'arrête pas, du sang dans les urines ou les selles, ou si vous "
                "crachez du sang."
            ),
        ),
        "nausea_diarrhoea": (
            "Nausées, vomissements et diarrhée",
            (
                "Les nausées, les vomissements et les selles liquides sont fréquents. Parlez-en à "
                "l'équipe\u00a0: des médicaments peuvent vous aider. Buvez beaucoup et appelez "
                "immédiatement si la diarrhée est sévère."
            ),
        ),
    },
}

# Printed only when an attached study reports them; the others are always explained.
CONDITIONAL_RISKS = frozenset({"heart_failure", "bleeding"})

# How each kind of death figure a study reports is named (see consent.services._death_kind).
DEATH_EVENTS: dict[str, dict[str, str]] = {
    "en": {
        "mortality_days": "deaths within the first {days} days of treatment",
        "treatment_related": "deaths attributed to the treatment",
        "fatal_grade5": "fatal side effects (grade 5)",
        "death_during_treatment": "deaths during treatment",
        "death_other": "deaths reported",
    },
    "it": {
        "mortality_days": "decessi entro i primi {days} giorni di trattamento",
        "treatment_related": "decessi attribuiti al trattamento",
        "fatal_grade5": "effetti indesiderati mortali (grado 5)",
        "death_during_treatment": "decessi durante il trattamento",
        "death_other": "decessi riportati",
    },
    "fr": {
        "mortality_days": "décès dans les {days} premiers jours de traitement",
        "treatment_related": "décès attribués au traitement",
        "fatal_grade5": "effets indésirables mortels (grade 5)",
        "death_during_treatment": "décès pendant le traitement",
        "death_other": "décès rapportés",
    },
}

# Who pays, per pathway, in plain words (domain brief: regulatory-pathways.md).
# - it_law_94_98: not reimbursed by the SSN (L. 296/2006 c. 796 lett. z); the medicine is not
#   charged to the patient and is at the hospital's expense (issue 13's brief).
# - fr_off_label_no_cpc: the patient must be told the conditions of coverage by Assurance Maladie
#   (CSP L5121-12-1 III); "non remboursable" when the use is not covered (CSS L162-4).
#   UNCONFIRMED: that no CPC exists for venetoclax in R/R AML. The sentence therefore says
#   "may not reimburse" and leaves the answer to the physician, never "is reimbursed".
# - it_aifa_5_fund: AIFA decides the reimbursement; nothing is promised before its decision.
COSTS: dict[str, dict[str, str]] = {
    "en": {
        "it_law_648": (
            "The medicine is paid for by the Italian national health service (SSN); it is not "
            "charged to you."
        ),
        "it_law_94_98": (
            "The medicine is not charged to you. Under Law 94/1998 the national health service "
            "(SSN) does not reimburse it: its cost is borne by the hospital ({hospital})."
        ),
        "it_aifa_5_fund": (
            "If AIFA agrees to the request, the medicine is paid for from the AIFA fund; it is not "
            "charged to you. Treatment does not start before AIFA's decision."
        ),
        "it_dm_7_9_2017": (
            "The company supplies the medicine free of charge; it is not charged to you."
        ),
        "fr_off_label_no_cpc": (
            "This use is outside the marketing authorisation and no compassionate prescription "
            "framework (CPC) covers it: Assurance Maladie (French national health insurance) may "
            "therefore not reimburse the medicine for this use, and in that case the prescription "
            "carries the mention « non remboursable » (not reimbursable; article L162-4 of the "
            "Code de la sécurité sociale). As article L5121-12-1 III of the Code de la santé "
            "publique requires, before you decide your doctor will tell you how Assurance Maladie "
            "covers the medicine and whether any cost would remain for you."
        ),
        "de_gkv_cost_coverage": (
            "Before treatment starts, your statutory health insurer decides whether it pays for "
            "the medicine."
        ),
        "us_pt_committee": (
            "Your insurer decides whether it pays; ask the team about the costs before you decide."
        ),
        "generic": (
            "Before you decide, your doctor will tell you who pays for the medicine and whether "
            "any cost would remain for you."
        ),
    },
    "it": {
        "it_law_648": (
            "Il medicinale è a carico del Servizio sanitario nazionale (SSN); a Lei non viene "
            "addebitato nulla."
        ),
        "it_law_94_98": (
            "Il medicinale non Le viene addebitato. Con la Legge 94/1998 il Servizio sanitario "
            "nazionale (SSN) non lo rimborsa: il costo è a carico dell'ospedale ({hospital})."
        ),
        "it_aifa_5_fund": (
            "Se AIFA approva la richiesta, il medicinale è pagato dal fondo AIFA; a Lei non viene "
            "addebitato nulla. Il trattamento non inizia prima della decisione di AIFA."
        ),
        "it_dm_7_9_2017": (
            "L'azienda fornisce il medicinale gratuitamente; a Lei non viene addebitato nulla."
        ),
        "fr_off_label_no_cpc": (
            "Questo uso è al di fuori dell'autorizzazione all'immissione in commercio e non "
            "rientra in un quadro di prescrizione compassionevole (CPC): per questo l'Assurance "
            "Maladie (l'assicurazione sanitaria pubblica francese) potrebbe non rimborsare il "
            "medicinale per questo uso; in tal caso la ricetta riporta la dicitura «non "
            "remboursable» (non rimborsabile; articolo L162-4 del Code de la sécurité sociale). "
            "Come richiede l'articolo L5121-12-1 III del Code de la santé publique, prima che Lei "
            "decida il medico Le spiegherà come il medicinale è coperto dall'Assurance Maladie e "
            "se resterebbe qualche costo a Suo carico."
        ),
        "de_gkv_cost_coverage": (
            "Prima dell'inizio del trattamento, è la Sua assicurazione sanitaria obbligatoria a "
            "decidere se paga il medicinale."
        ),
        "us_pt_committee": (
            "È la Sua assicurazione a decidere se pagare; chieda all'équipe informazioni sui costi "
            "prima di decidere."
        ),
        "generic": (
            "Prima che Lei decida, il medico Le spiegherà chi paga il medicinale e se resterebbe "
            "qualche costo a Suo carico."
        ),
    },
    "fr": {
        "it_law_648": (
            "Le médicament est pris en charge par le service national de santé italien "
            "(SSN)\u00a0; il ne vous est pas facturé."
        ),
        "it_law_94_98": (
            "Le médicament ne vous est pas facturé. Dans le cadre de la loi 94/1998, le service "
            "national de santé italien (SSN) ne le rembourse pas\u00a0: son coût est à la charge "
            "de l'hôpital ({hospital})."
        ),
        "it_aifa_5_fund": (
            "Si l'AIFA accepte la demande, le médicament est payé par le fonds de l'AIFA\u00a0; il "
            "ne vous est pas facturé. Le traitement ne commence pas avant la décision de l'AIFA."
        ),
        "it_dm_7_9_2017": (
            "Le laboratoire fournit le médicament gratuitement\u00a0; il ne vous est pas facturé."
        ),
        "fr_off_label_no_cpc": (
            "Cette utilisation est hors AMM et ne relève pas d'un cadre de prescription "
            "compassionnelle (CPC)\u00a0: l'Assurance Maladie peut donc ne pas rembourser le "
            "médicament pour cette utilisation, et dans ce cas l'ordonnance porte la mention "
            "«\u00a0non remboursable\u00a0» (article L162-4 du code de la sécurité sociale). Comme "
            "l'exige l'article L5121-12-1 III du code de la santé publique, votre médecin vous "
            "indiquera, avant que vous ne décidiez, les conditions de prise en charge du "
            "médicament par l'Assurance Maladie et ce qui pourrait rester à votre charge."
        ),
        "de_gkv_cost_coverage": (
            "Avant le début du traitement, votre caisse d'assurance maladie décide si elle paie le "
            "médicament."
        ),
        "us_pt_committee": (
            "Votre assurance décide si elle paie\u00a0; renseignez-vous auprès de l'équipe sur les "
            "coûts avant de décider."
        ),
        "generic": (
            "Avant que vous ne décidiez, votre médecin vous indiquera qui paie le médicament et ce "
            "qui pourrait rester à votre charge."
        ),
    },
}

# Recipients beyond the care team that a pathway implies (GDPR art. 13(1)(e)); pharmacovigilance
# is added to every form. A pathway not listed shares with the care team only.
DATA_RECIPIENTS: dict[str, dict[str, str]] = {
    "en": {
        "it_law_648": "AIFA (the Italian Medicines Agency), through its monitoring registry",
        "it_aifa_5_fund": (
            "AIFA (the Italian Medicines Agency), which receives the request and the reports on "
            "the treatment"
        ),
        "it_dm_7_9_2017": (
            "the company that supplies the medicine and the ethics committee, for the safety and "
            "results data that the compassionate-use programme requires (Ministerial Decree of 7 "
            "September 2017)"
        ),
        "de_gkv_cost_coverage": (
            "your health insurer and, if it consults it, the Medical Service (Medizinischer "
            "Dienst), for the cost-coverage application"
        ),
    },
    "it": {
        "it_law_648": "AIFA (Agenzia Italiana del Farmaco), attraverso il registro di monitoraggio",
        "it_aifa_5_fund": (
            "AIFA (Agenzia Italiana del Farmaco), che riceve la richiesta e le relazioni sul "
            "trattamento"
        ),
        "it_dm_7_9_2017": (
            "l'azienda che fornisce il medicinale e il comitato etico, per i dati sulla sicurezza "
            "e sui risultati richiesti dal programma di uso compassionevole (Decreto Ministeriale "
            "7 settembre 2017)"
        ),
        "de_gkv_cost_coverage": (
            "la Sua assicurazione sanitaria e, se questa lo consulta, il Servizio medico "
            "(Medizinischer Dienst), per la domanda di copertura dei costi"
        ),
    },
    "fr": {
        "it_law_648": "l'AIFA (Agence italienne du médicament), par son registre de suivi",
        "it_aifa_5_fund": (
            "l'AIFA (Agence italienne du médicament), qui reçoit la demande et les rapports sur le "
            "traitement"
        ),
        "it_dm_7_9_2017": (
            "le laboratoire qui fournit le médicament et le comité d'éthique, pour les données de "
            "sécurité et de résultats qu'exige le programme d'usage compassionnel (décret "
            "ministériel italien du 7 septembre 2017)"
        ),
        "de_gkv_cost_coverage": (
            "votre caisse d'assurance maladie et, si elle le consulte, le service médical "
            "(Medizinischer Dienst), pour la demande de prise en charge"
        ),
    },
}

# The supervisory authority of the hospital's country (GDPR art. 13(2)(d)), by name.
SUPERVISORY_AUTHORITIES: dict[str, dict[str, str]] = {
    "en": {
        "IT": (
            "Garante per la protezione dei dati personali (the Italian data protection authority)"
        ),
        "FR": (
            "Commission nationale de l'informatique et des libertés (CNIL, the French data "
            "protection authority)"
        ),
        "ES": (
            "Agencia Española de Protección de Datos (AEPD, the Spanish data protection authority)"
        ),
        "DE": (
            "the Federal Commissioner for Data Protection and Freedom of Information (BfDI) or the "
            "data protection authority of your federal state (Land)"
        ),
        "GB": "the Information Commissioner's Office (ICO)",
        "other": "the data protection authority of your country",
    },
    "it": {
        "IT": "Garante per la protezione dei dati personali",
        "FR": "Commission nationale de l'informatique et des libertés (CNIL, l'autorità francese)",
        "ES": "Agencia Española de Protección de Datos (AEPD, l'autorità spagnola)",
        "DE": (
            "il Commissario federale per la protezione dei dati e la libertà d'informazione (BfDI) "
            "o l'autorità di protezione dei dati del Suo Land"
        ),
        "GB": "l'Information Commissioner's Office (ICO, l'autorità del Regno Unito)",
        "other": "l'autorità di protezione dei dati del Suo Paese",
    },
    "fr": {
        "IT": "Garante per la protezione dei dati personali (l'autorité italienne)",
        "FR": "Commission nationale de l'informatique et des libertés (CNIL)",
        "ES": "Agencia Española de Protección de Datos (AEPD, l'autorité espagnole)",
        "DE": (
            "le Commissaire fédéral à la protection des données et à la liberté d'information "
            "(BfDI) ou l'autorité de protection des données de votre Land"
        ),
        "GB": "l'Information Commissioner's Office (ICO, l'autorité du Royaume-Uni)",
        "other": "l'autorité de protection des données de votre pays",
    },
}


# The data-protection law the form names: the EU GDPR, or in the United Kingdom the UK GDPR with
# the Data Protection Act 2018 (the same article numbers: 9(2)(h) and (i), 15-18 and 21).
DATA_PROTECTION_LAW = {
    "en": {
        "GB": "the UK General Data Protection Regulation (UK GDPR) and the Data Protection Act "
        "2018",
        "other": "the General Data Protection Regulation (GDPR, Regulation (EU) 2016/679)",
    },
    "it": {
        "GB": "il Regolamento generale sulla protezione dei dati del Regno Unito (UK GDPR) e il "
        "Data Protection Act 2018",
        "other": "il Regolamento generale sulla protezione dei dati (GDPR, Regolamento (UE) "
        "2016/679)",
    },
    "fr": {
        "GB": "au règlement général sur la protection des données du Royaume-Uni (UK GDPR) et "
        "au Data Protection Act 2018",
        "other": "au Règlement général sur la protection des données (RGPD, règlement (UE) "
        "2016/679)",
    },
}
