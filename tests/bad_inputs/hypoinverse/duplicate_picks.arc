201907041733490035 4230117 3024 1050                                                   30  80                                                 1001 420              
CLC  CI VHHZ iPU0201907041733 5312                                                                               
SLA  CI VHHZ iPD0201907041733 5412                                                                               
WCS2 CI VHHZ iPU0201907041733 5512                                                                               
CLC  CI EHHE     201907041733             5655eS 1                                                               
CLC  CI VHHZ iPU0201907041733 5312                                                                               
SLA  CI VHHZ iPD0201907041733 5412                                                                               
WCS2 CI VHHZ iPU0201907041733 5512                                                                               
CLC  CI EHHE     201907041733             5655eS 1                                                               
201907041801123435 4320117 3300  620                                                   40 110                                                 1002 290              
CLC  CI VHHZ iPU0201907041801 1312                                                                               
SLA  CI VHHZ iPD0201907041801 1412                                                                               
WCS2 CI VHHZ iPU0201907041801 1512                                                                               
CLC  CI EHHE     201907041801             1655eS 1                                                               
