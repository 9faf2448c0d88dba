"""Cases (工单): units of work made of one or more messages, followed from 受理 to 归档 as 12345 hotlines do."""
