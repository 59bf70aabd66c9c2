CLC  CI VHHZ iPU0201907041733 5312                                                                               
SLA  CI VHHZ iPD0201907041733 5412                                                                               
WCS2 CI VHHZ iPU0201907041733 5512                                                                               
CLC  CI EHHE     201907041733             5655eS 1                                                               
